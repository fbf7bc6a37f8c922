package redisqueue

import (
	"context"
	"errors"

	"github.com/redis/go-redis/v9"
)

// followFailover asks a cluster client to re-read the slot layout when err
// says that a node may be gone. go-redis re-reads it on MOVED, but a dead
// master answers nothing, so without this its slots would stay mapped to
// it until the client's ClusterStateReloadInterval (a minute by default)
// passed, long after a replica took over. The reload runs in the
// background, at most one at a time.
func (b *Backend) followFailover(ctx context.Context, err error) {
	cc, ok := b.client.(*redis.ClusterClient)
	if !ok || err == nil || errors.Is(err, context.Canceled) || errors.Is(err, redis.Nil) {
		return
	}
	var reply redis.Error
	if errors.As(err, &reply) && !redis.HasErrorPrefix(err, "CLUSTERDOWN") && !redis.HasErrorPrefix(err, "TRYAGAIN") {
		return // the node answered: it is alive and serves the slot
	}
	cc.ReloadState(ctx)
}
