package redisqueue

import (
	"fmt"
	"strings"

	"github.com/redghost/redghost/core"
)

// Option configures a [Backend].
type Option func(*config)

type config struct {
	prefix    string
	limits    core.Limits
	deadLimit int
	health    healthConfig
}

// Defaults.
const (
	DefaultPrefix          = "rg"
	DefaultDeadLetterLimit = 10000
)

func defaultConfig() config {
	return config{prefix: DefaultPrefix, limits: core.DefaultLimits, deadLimit: DefaultDeadLetterLimit,
		health: defaultHealthConfig()}
}

// WithPrefix sets the prefix of every key (default "rg"). It must be
// non-empty and hold no '{' or '}', which would break the hash tag.
func WithPrefix(prefix string) Option { return func(c *config) { c.prefix = prefix } }

// WithLimits sets the input limits; zero fields keep their defaults.
func WithLimits(l core.Limits) Option { return func(c *config) { c.limits = l.WithDefaults() } }

// WithDeadLetterLimit bounds each queue's dead-letter list (default 10000);
// the oldest entries are dropped beyond it. Zero disables dead letters.
func WithDeadLetterLimit(n int) Option { return func(c *config) { c.deadLimit = n } }

func (c *config) validate() error {
	switch {
	case c.prefix == "":
		return fmt.Errorf("redisqueue: empty key prefix")
	case strings.ContainsAny(c.prefix, "{}"):
		return fmt.Errorf("redisqueue: key prefix %q holds '{' or '}' (reserved for the hash tag)", c.prefix)
	case c.deadLimit < 0:
		return fmt.Errorf("redisqueue: negative dead-letter limit %d", c.deadLimit)
	}
	return c.health.validate()
}
