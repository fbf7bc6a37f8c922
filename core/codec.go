package core

import (
	"encoding/json"
	"fmt"
)

// Codec turns values into payloads and back. [Publisher.Publish] encodes
// with it and [Typed] handlers decode with it.
type Codec interface {
	Marshal(v any) ([]byte, error)
	Unmarshal(data []byte, v any) error
}

// JSON is the default codec (encoding/json).
var JSON Codec = jsonCodec{}

type jsonCodec struct{}

func (jsonCodec) Marshal(v any) ([]byte, error)      { return json.Marshal(v) }
func (jsonCodec) Unmarshal(data []byte, v any) error { return json.Unmarshal(data, v) }

// DecodeError is the error of a [Typed] handler's error outcome when the
// payload does not decode.
type DecodeError struct {
	Queue string
	ID    string
	Type  string // the Go type it should have decoded into
	Err   error
}

func (e *DecodeError) Error() string {
	return fmt.Sprintf("redghost: queue %q message %q: payload does not decode into %s: %v", e.Queue, e.ID, e.Type, e.Err)
}

func (e *DecodeError) Unwrap() error { return e.Err }
