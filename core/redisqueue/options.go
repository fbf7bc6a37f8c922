package redisqueue

import (
	"fmt"
	"strings"
	"time"

	"github.com/redghost/redghost/core"
)

// Option configures a [Backend].
type Option func(*config)

type config struct {
	prefix    string
	limits    core.Limits
	deadLimit int

	ackReplicas int           // WithReplicaAck; 0: none
	ackTimeout  time.Duration // WithReplicaAck
	ackSet      bool
	health      healthConfig
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

// WithLimits sets the input limits; zero fields keep their defaults, and
// negative ones are refused by [New].
func WithLimits(l core.Limits) Option { return func(c *config) { c.limits = l } }

// WithDeadLetterLimit bounds each queue's dead-letter list (default 10000);
// the oldest entries are dropped beyond it. Zero disables dead letters.
func WithDeadLetterLimit(n int) Option { return func(c *config) { c.deadLimit = n } }

// validate checks the options once, at construction (see the
// configuration rule in package core's documentation).
func (c *config) validate() error {
	switch {
	case c.prefix == "":
		return invalidOption("WithPrefix", "empty key prefix")
	case strings.ContainsAny(c.prefix, "{}"):
		return invalidOption("WithPrefix", fmt.Sprintf("key prefix %q holds '{' or '}' (reserved for the hash tag)", c.prefix))
	case c.deadLimit < 0:
		return invalidOption("WithDeadLetterLimit", fmt.Sprintf("must not be negative, got %d", c.deadLimit))
	case c.limits.MaxPayloadBytes < 0 || c.limits.MaxHeaderBytes < 0 || c.limits.MaxHeaders < 0:
		return invalidOption("WithLimits", fmt.Sprintf("negative limit in %+v", c.limits))
	}
	c.limits = c.limits.WithDefaults()
	return c.health.validate()
}

func invalidOption(option, reason string) error {
	return &core.InvalidError{Field: option, Reason: reason}
}
