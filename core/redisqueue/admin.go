package redisqueue

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/redghost/redghost/core"
)

// maxPage bounds the page of a listing call.
const maxPage = 1000

// MessageStatus derives the status of one message with the server's clock.
func (b *Backend) MessageStatus(ctx context.Context, queue, id string) (core.Status, error) {
	if err := core.ValidateQueueName(queue); err != nil {
		return core.StatusNone, err
	}
	if err := core.ValidateID(id); err != nil {
		return core.StatusNone, err
	}
	reply, err := b.run(ctx, scriptStatus, []string{b.queuePrefix(queue) + sfxMsgs}, id)
	if err != nil {
		return core.StatusNone, fmt.Errorf("redisqueue: status of %q in %q: %w", id, queue, err)
	}
	code, err := replyInt(reply)
	if err != nil {
		return core.StatusNone, err
	}
	return core.Status(code), nil
}

// QueueStats counts in O(1) from the sizes of the queue's keys, in one
// script (stats.lua): Total is every stored message, Locked the count kept
// with the lock groups, Backoff and Done the sizes of the delay and done
// indexes (they may hold entries that expired a moment ago), Queued the
// rest. OldestReady is the longest wait among the first
// [core.OldestReadyLookahead] ids of the ready list, by the server's clock.
func (b *Backend) QueueStats(ctx context.Context, queue string) (core.QueueStats, error) {
	if err := core.ValidateQueueName(queue); err != nil {
		return core.QueueStats{}, err
	}
	k := b.keys(queue)
	reply, err := b.run(ctx, scriptStats, []string{k.msgs, k.ready, k.delay, k.done, k.deadidx, k.lockgrp, k.paused},
		core.OldestReadyLookahead)
	if err != nil {
		return core.QueueStats{}, fmt.Errorf("redisqueue: stats of %q: %w", queue, err)
	}
	n, err := replyInts(reply, 7)
	if err != nil {
		return core.QueueStats{}, fmt.Errorf("redisqueue: stats of %q: %w", queue, err)
	}
	s := core.QueueStats{
		Total:       n[0],
		Locked:      max(n[1], 0),
		Backoff:     n[2],
		Done:        n[3],
		Dead:        n[4],
		OldestReady: msDuration(n[5]),
		Paused:      n[6] > 0,
	}
	s.Queued = max(s.Total-s.Locked-s.Backoff-s.Done, 0)
	return s, nil
}

// QueueContent lists a page of the queue's messages (HSCAN order). The
// cursor is opaque; "" starts, and the last page answers "". At most 1000
// messages are listed per page.
func (b *Backend) QueueContent(ctx context.Context, queue, cursor string, limit int) ([]core.MessageInfo, string, error) {
	if err := core.ValidateQueueName(queue); err != nil {
		return nil, "", err
	}
	limit, err := pageLimit(limit)
	if err != nil {
		return nil, "", err
	}
	scan, skip, err := parseCursor(cursor)
	if err != nil {
		return nil, "", err
	}
	reply, err := b.run(ctx, scriptContent, []string{b.queuePrefix(queue) + sfxMsgs}, scan, skip, limit)
	if err != nil {
		return nil, "", fmt.Errorf("redisqueue: content of %q: %w", queue, err)
	}
	a, err := replyArray(reply)
	if err != nil || len(a) < 3 || len(a)%2 != 1 {
		return nil, "", fmt.Errorf("redisqueue: content of %q: malformed reply (%v)", queue, err)
	}
	nextScan, err := replyString(a[0])
	if err != nil {
		return nil, "", err
	}
	nextSkip, err := replyInt(a[1])
	if err != nil {
		return nil, "", err
	}
	nowUs, err := replyInt(a[2])
	if err != nil {
		return nil, "", err
	}
	msgs := make([]core.MessageInfo, 0, (len(a)-3)/2)
	for i := 3; i < len(a); i += 2 {
		id, v, err := replyPair(a[i:])
		if err != nil {
			return nil, "", err
		}
		info, err := messageInfo(queue, id, v, nowUs)
		if err != nil {
			return nil, "", err
		}
		msgs = append(msgs, info)
	}
	return msgs, formatCursor(nextScan, nextSkip), nil
}

// messageInfo decodes a stored message as the listing shows it, at nowUs
// by the server's clock.
func messageInfo(queue, id, v string, nowUs int64) (core.MessageInfo, error) {
	now := nowUs / 1000 // ms, as the stored times
	h, m, err := decodeMessage(queue, id, v)
	if err != nil {
		return core.MessageInfo{}, err
	}
	info := core.MessageInfo{
		ID:      id,
		Status:  h.status(now),
		Payload: m.Payload,
		Headers: m.Headers,
		Attempt: m.Attempt,
		// The first-enqueued time is in whole ms, floored, and now in
		// us: the age may be up to a millisecond over, but a message
		// listed within the millisecond it was sent is not 0 old.
		Age:     time.Duration(max(nowUs-h.first*1000, 0)) * time.Microsecond,
		Requeue: h.flags&flagRequeue != 0,

		Canceled:    h.flags&flagCanceled != 0,
		MaxAttempts: m.MaxAttempts,
		Timeout:     m.Timeout,
	}
	if h.boExp > now {
		info.Backoff = msDuration(h.boExp - now)
	}
	if h.flags&flagDone == 0 && h.lockExp > now {
		info.LockLeft = msDuration(h.lockExp - now)
	}
	return info, nil
}

// A content cursor is the HSCAN cursor, followed by "/n" when the page
// ended after the first n entries of that cursor's batch.
func parseCursor(c string) (scan string, skip int64, err error) {
	if c == "" {
		return "0", 0, nil
	}
	scan, rest, hasSkip := strings.Cut(c, "/")
	if _, err := strconv.ParseUint(scan, 10, 64); err != nil {
		return "", 0, &core.InvalidError{Field: "cursor", Reason: fmt.Sprintf("%q is not a cursor of this backend", c)}
	}
	if hasSkip {
		if skip, err = strconv.ParseInt(rest, 10, 64); err != nil || skip < 0 {
			return "", 0, &core.InvalidError{Field: "cursor", Reason: fmt.Sprintf("%q is not a cursor of this backend", c)}
		}
	}
	return scan, skip, nil
}

func formatCursor(scan string, skip int64) string {
	switch {
	case skip > 0:
		return scan + "/" + strconv.FormatInt(skip, 10)
	case scan == "0":
		return ""
	}
	return scan
}

func pageLimit(limit int) (int, error) {
	if limit < 1 {
		return 0, &core.InvalidError{Field: "limit", Reason: fmt.Sprintf("must be positive, got %d", limit)}
	}
	return min(limit, maxPage), nil
}

// QueueNames scans for the queues that hold messages or dead letters or are
// paused (on a cluster, every master). The names are sorted.
func (b *Backend) QueueNames(ctx context.Context) ([]string, error) {
	names, err := b.queuesWith(ctx, sfxMsgs, sfxDeadIdx, sfxPaused)
	if err != nil {
		return nil, fmt.Errorf("redisqueue: queue names: %w", err)
	}
	return names, nil
}

// queuesWith scans for the queues that have a key of one of suffixes (on a
// cluster every master, on a ring every shard) and answers their names,
// sorted, once each.
func (b *Backend) queuesWith(ctx context.Context, suffixes ...string) ([]string, error) {
	var mu sync.Mutex
	names := make(map[string]struct{})
	scan := func(ctx context.Context, c redis.UniversalClient) error {
		for _, suffix := range suffixes {
			it := c.Scan(ctx, 0, globEscape(b.cfg.prefix)+":{*}:"+suffix, 1000).Iterator()
			for it.Next(ctx) {
				if name, ok := queueFromKey(b.cfg.prefix, it.Val(), suffix); ok {
					mu.Lock()
					names[name] = struct{}{}
					mu.Unlock()
				}
			}
			if err := it.Err(); err != nil {
				return err
			}
		}
		return nil
	}
	var err error
	switch c := b.client.(type) {
	case *redis.ClusterClient:
		err = c.ForEachMaster(ctx, func(ctx context.Context, n *redis.Client) error { return scan(ctx, n) })
	case *redis.Ring:
		err = c.ForEachShard(ctx, func(ctx context.Context, n *redis.Client) error { return scan(ctx, n) })
	default:
		err = scan(ctx, b.client)
	}
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(names))
	for n := range names {
		out = append(out, n)
	}
	slices.Sort(out)
	return out, nil
}

// globEscape escapes the glob characters of a SCAN pattern.
func globEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`*?[]\`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// ClearQueues deletes every key of the named queues, dead letters
// included: one DEL per queue, pipelined. All names are validated first.
func (b *Backend) ClearQueues(ctx context.Context, queues ...string) error {
	for _, q := range queues {
		if err := core.ValidateQueueName(q); err != nil {
			return err
		}
	}
	if len(queues) == 0 {
		return nil
	}
	_, err := b.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, q := range queues {
			p.Del(ctx, b.keys(q).all()...)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("redisqueue: clear queues: %w", err)
	}
	return nil
}
