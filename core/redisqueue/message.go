package redisqueue

import (
	"context"
	"fmt"

	"github.com/redghost/redghost/core"
)

var _ core.MessageInspector = (*Backend)(nil)

// MessageInfo reads one message by id, as QueueContent would list it, in
// one call whatever the queue's length, with the server's clock. found is
// false when the queue holds no message with the id.
func (b *Backend) MessageInfo(ctx context.Context, queue, id string) (core.MessageInfo, bool, error) {
	if err := core.ValidateQueueName(queue); err != nil {
		return core.MessageInfo{}, false, err
	}
	if err := core.ValidateID(id); err != nil {
		return core.MessageInfo{}, false, err
	}
	reply, err := b.run(ctx, scriptMessage, []string{b.queuePrefix(queue) + sfxMsgs}, id)
	if err != nil {
		return core.MessageInfo{}, false, fmt.Errorf("redisqueue: message %q of %q: %w", id, queue, err)
	}
	a, err := replyArray(reply)
	if err != nil || len(a) < 1 || len(a) > 2 {
		return core.MessageInfo{}, false, fmt.Errorf("redisqueue: message %q of %q: malformed reply (%v)", id, queue, err)
	}
	nowUs, err := replyInt(a[0])
	if err != nil {
		return core.MessageInfo{}, false, err
	}
	if len(a) == 1 {
		return core.MessageInfo{}, false, nil
	}
	v, err := replyString(a[1])
	if err != nil {
		return core.MessageInfo{}, false, err
	}
	info, err := messageInfo(queue, id, v, nowUs)
	return info, err == nil, err
}
