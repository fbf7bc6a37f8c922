package redisqueue

import "github.com/redghost/redghost/core"

var _ core.SystemNamer = (*Backend)(nil)

// System is "redis", the messaging system telemetry names for this
// backend's messages.
func (b *Backend) System() string { return "redis" }
