package peers

import (
	"context"
	"errors"
	"sync/atomic"
)

// ErrBoom is what a failing [Target] returns.
var ErrBoom = errors.New("peers: boom")

// Target is one function under test, in each of the shapes the libraries
// take. Building every shape once, up front, spares each library a closure
// per call to adapt the function to its signature.
type Target struct {
	// Ctx is the function itself.
	Ctx func(context.Context) (int, error)
	// Plain is Ctx without a context (gobreaker, failsafe-go).
	Plain func() (int, error)
	// Err is Ctx's error alone (eapache, rubyist).
	Err func() error
	// ErrCtx is Ctx's error alone, with the context (hystrix-go).
	ErrCtx func(context.Context) error
}

// NewTarget returns a Target whose every shape runs fn.
func NewTarget(fn func(context.Context) (int, error)) *Target {
	return &Target{
		Ctx:    fn,
		Plain:  func() (int, error) { return fn(context.Background()) },
		Err:    func() error { _, err := fn(context.Background()); return err },
		ErrCtx: func(ctx context.Context) error { _, err := fn(ctx); return err },
	}
}

// The targets every benchmark calls. Each shape is a function value of its
// own, not a wrapper around Ctx, so that no library pays for a second call.
var (
	// OK succeeds.
	OK = &Target{
		Ctx:    func(context.Context) (int, error) { return 1, nil },
		Plain:  func() (int, error) { return 1, nil },
		Err:    func() error { return nil },
		ErrCtx: func(context.Context) error { return nil },
	}
	// Fail fails with ErrBoom.
	Fail = &Target{
		Ctx:    func(context.Context) (int, error) { return 0, ErrBoom },
		Plain:  func() (int, error) { return 0, ErrBoom },
		Err:    func() error { return ErrBoom },
		ErrCtx: func(context.Context) error { return ErrBoom },
	}
)

// floor is the counter of the "atomic floor" baseline: the call plus one
// atomic Add and one Load on this counter, which sits alone on its cache
// line so that what it costs is the atomic operations, not false sharing.
// A breaker that counts each call in shared memory costs at least that; the
// targets are set against it. It mirrors the floor of the main module's
// bench package. The other baseline, "direct", is the call alone; both are
// written out in the generated loops.
var floor struct {
	_ [64]byte
	n atomic.Int64
	_ [56]byte
}
