package redisqueue

import (
	"errors"
	"testing"
	"time"

	"github.com/redghost/redghost/core"
)

// The store-check options are validated at construction, each error
// naming its option.
func TestHealthOptionsValidated(t *testing.T) {
	for field, o := range map[string]Option{
		"WithEvictionCheck":       WithEvictionCheck(EvictionCheck(7)),
		"WithHealthCheckInterval": WithHealthCheckInterval(-time.Second),
		"WithLogger":              WithLogger(nil),
	} {
		cfg := defaultConfig()
		o(&cfg)
		err := cfg.validate()
		var inv *core.InvalidError
		if !errors.Is(err, core.ErrInvalid) || !errors.As(err, &inv) || inv.Field != field {
			t.Errorf("%s: validate answered %v, want an InvalidError for the option", field, err)
		}
	}
	cfg := defaultConfig()
	WithHealthCheckInterval(0)(&cfg)
	if err := cfg.validate(); err != nil {
		t.Errorf("interval 0 (checks on start only): %v", err)
	}
}
