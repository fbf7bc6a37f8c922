package redisqueue

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/redghost/redghost/core"
)

// A stored message value is a header (written by the scripts, see
// lua/lib.lua) followed by the body (written here):
//
//	header: flags u8, attempts u32, token u64, lock expiry u48,
//	        backoff expiry u48, own lock ms u48, first enqueued u48
//	        (big-endian; times in ms since the epoch, by the server's clock);
//	        or, when every field but the first-enqueued time is 0, the
//	        short form: flagShort u8, first enqueued u48
//	body:   [limits] uvarint header count, then per header uvarint len,
//	        key, uvarint len, value (keys sorted), then the payload to the
//	        end
//	limits: only for a message with limits of its own (core.WithMaxAttempts,
//	        core.WithHandlingTimeout): the bytes 0x80 0x00 (a zero
//	        uvarint in a form AppendUvarint never writes, so no body
//	        without limits starts so), then uvarint max attempts, uvarint
//	        timeout ms
//
// The limits live in the body, not the header: only the Go side reads
// them, so no script handles them, the short header of a plain queued
// message stays 7 bytes, and a message without limits is stored exactly
// as before. They travel with the body into requeue copies and dead
// letters, and an update replaces them with the body.
const (
	headerLen      = 37
	shortHeaderLen = 7
)

const (
	flagDone     = 1
	flagRequeue  = 2
	flagGrouped  = 4  // indexed in its token's lock group (lua/lib.lua)
	flagShort    = 8  // the short header form, never combined with others
	flagCanceled = 16 // cancelled while locked (lua/cancel.lua)
)

// header is the decoded fixed header of a stored message.
type header struct {
	flags    uint8
	attempts uint32
	token    uint64
	lockExp  int64 // ms
	boExp    int64 // ms
	lockMs   int64 // the message's own lock duration; 0: none
	first    int64 // ms
	short    bool  // stored in the short form (every other field 0)
}

var errCorrupt = errors.New("redisqueue: corrupt stored message")

func uint48(s string) int64 {
	_ = s[5]
	return int64(s[0])<<40 | int64(s[1])<<32 | int64(s[2])<<24 | int64(s[3])<<16 | int64(s[4])<<8 | int64(s[5])
}

// parseHeader decodes the header at the start of a stored value; the body
// follows at v[h.size()].
func parseHeader(v string) (header, error) {
	if len(v) > 0 && v[0] == flagShort {
		if len(v) < shortHeaderLen {
			return header{}, errCorrupt
		}
		return header{short: true, first: uint48(v[1:7])}, nil
	}
	if len(v) < headerLen {
		return header{}, errCorrupt
	}
	h := header{
		flags:    v[0],
		attempts: uint32(v[1])<<24 | uint32(v[2])<<16 | uint32(v[3])<<8 | uint32(v[4]),
		token:    uint64(uint48(v[5:11]))<<16 | uint64(v[11])<<8 | uint64(v[12]),
		lockExp:  uint48(v[13:19]),
		boExp:    uint48(v[19:25]),
		lockMs:   uint48(v[25:31]),
		first:    uint48(v[31:37]),
	}
	return h, nil
}

// size is the length of the header as stored.
func (h header) size() int {
	if h.short {
		return shortHeaderLen
	}
	return headerLen
}

// status derives the message status at now (ms) by the rules of status in
// lua/lib.lua; TestStatusRulesAgree runs every header state through both.
func (h header) status(now int64) core.Status {
	if h.flags&flagDone != 0 {
		switch {
		case h.flags&flagRequeue != 0:
			return core.StatusDoneWithRequeue
		case h.boExp > now:
			return core.StatusDoneWithBackoff
		}
		return core.StatusDoneAwaitingGC
	}
	if h.lockExp > now {
		if h.flags&flagRequeue != 0 {
			return core.StatusLockedWithRequeue
		}
		return core.StatusLocked
	}
	if h.flags&flagCanceled != 0 { // cancelled and its handler gone: done
		if h.flags&flagRequeue != 0 {
			return core.StatusDoneWithRequeue
		}
		return core.StatusDoneAwaitingGC
	}
	if h.boExp > now {
		return core.StatusQueuedWithBackoff
	}
	return core.StatusQueued
}

// packRequestBody is the stored body of an enqueue request: its own limits,
// when it has any, then its headers and payload, in one buffer.
func packRequestBody(r *core.EnqueueRequest) []byte {
	size := bodySize(r.Headers, r.Payload)
	if r.MaxAttempts != 0 || r.Timeout != 0 {
		size += len(limitsMark) + 2*binary.MaxVarintLen64
	}
	b := appendLimits(make([]byte, 0, size), r.MaxAttempts, r.Timeout)
	return appendBody(b, r.Headers, r.Payload)
}

// packBody packs headers and payload into a body. Keys are sorted so that
// equal messages are stored as equal bytes.
func packBody(headers map[string]string, payload []byte) []byte {
	return appendBody(make([]byte, 0, bodySize(headers, payload)), headers, payload)
}

// bodySize bounds the length of the body of headers and payload.
func bodySize(headers map[string]string, payload []byte) int {
	size := binary.MaxVarintLen64 + len(payload)
	for k, v := range headers {
		size += 2*binary.MaxVarintLen64 + len(k) + len(v)
	}
	return size
}

// appendBody appends the body of headers and payload (see packBody) to b.
func appendBody(b []byte, headers map[string]string, payload []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(headers)))
	if len(headers) > 0 {
		keys := make([]string, 0, len(headers))
		for k := range headers {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			b = binary.AppendUvarint(b, uint64(len(k)))
			b = append(b, k...)
			b = binary.AppendUvarint(b, uint64(len(headers[k])))
			b = append(b, headers[k]...)
		}
	}
	return append(b, payload...)
}

// limitsMark starts the body of a message with limits.
const limitsMark = "\x80\x00"

// appendLimits writes the limits part of a body (nothing without limits).
func appendLimits(b []byte, maxAttempts int, timeout time.Duration) []byte {
	if maxAttempts == 0 && timeout == 0 {
		return b
	}
	b = append(b, limitsMark...)
	b = binary.AppendUvarint(b, uint64(maxAttempts))
	return binary.AppendUvarint(b, uint64(millis(timeout)))
}

// cutLimits reads the limits part at the start of a body, if any, and
// answers the rest.
func cutLimits(s string) (maxAttempts int, timeout time.Duration, rest string, err error) {
	if len(s) < 2 || s[:2] != limitsMark {
		return 0, 0, s, nil
	}
	n, off, err := uvarint(s, 2)
	if err != nil || n > core.MaxAttemptsLimit {
		return 0, 0, "", errCorrupt
	}
	ms, off, err := uvarint(s, off)
	if err != nil || ms > uint64(millis(core.MaxDuration)) {
		return 0, 0, "", errCorrupt
	}
	return int(n), msDuration(int64(ms)), s[off:], nil
}

// unpackBody is the inverse of packBody. No headers give a nil map, an
// empty payload a nil slice.
func unpackBody(s string) (map[string]string, []byte, error) {
	n, off, err := uvarint(s, 0)
	if err != nil {
		return nil, nil, err
	}
	if n > uint64(len(s)) { // each header takes at least two bytes
		return nil, nil, errCorrupt
	}
	var headers map[string]string
	if n > 0 {
		headers = make(map[string]string, n)
	}
	for range n {
		var k, v string
		if k, off, err = lenString(s, off); err != nil {
			return nil, nil, err
		}
		if v, off, err = lenString(s, off); err != nil {
			return nil, nil, err
		}
		headers[k] = v
	}
	var payload []byte
	if off < len(s) {
		payload = []byte(s[off:])
	}
	return headers, payload, nil
}

func uvarint(s string, off int) (uint64, int, error) {
	var x uint64
	for shift := uint(0); shift < 64; shift += 7 {
		if off >= len(s) {
			return 0, 0, errCorrupt
		}
		c := s[off]
		off++
		x |= uint64(c&0x7f) << shift
		if c < 0x80 {
			return x, off, nil
		}
	}
	return 0, 0, errCorrupt
}

func lenString(s string, off int) (string, int, error) {
	n, off, err := uvarint(s, off)
	if err != nil {
		return "", 0, err
	}
	if n > uint64(len(s)-off) {
		return "", 0, errCorrupt
	}
	end := off + int(n)
	return s[off:end], end, nil
}

// millis rounds a duration up to whole milliseconds, so that any positive
// duration stays positive.
func millis(d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	return int64((d + time.Millisecond - 1) / time.Millisecond)
}

func msDuration(ms int64) time.Duration { return time.Duration(ms) * time.Millisecond }

// decodeMessage decodes a stored value into a message.
func decodeMessage(queue, id, v string) (header, core.Message, error) {
	h, err := parseHeader(v)
	if err != nil {
		return h, core.Message{}, fmt.Errorf("%w %q in queue %q", err, id, queue)
	}
	maxAttempts, timeout, body, err := cutLimits(v[h.size():])
	if err != nil {
		return h, core.Message{}, fmt.Errorf("%w %q in queue %q", err, id, queue)
	}
	headers, payload, err := unpackBody(body)
	if err != nil {
		return h, core.Message{}, fmt.Errorf("%w %q in queue %q", err, id, queue)
	}
	return h, core.Message{
		ID:         id,
		Queue:      queue,
		Payload:    payload,
		Headers:    headers,
		Attempt:    int(h.attempts),
		EnqueuedAt: time.UnixMilli(h.first),

		MaxAttempts: maxAttempts,
		Timeout:     timeout,
	}, nil
}

func appendUint48(b []byte, v int64) []byte {
	return append(b, byte(v>>40), byte(v>>32), byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
}

func appendUint64(b []byte, v uint64) []byte { return binary.BigEndian.AppendUint64(b, v) }
