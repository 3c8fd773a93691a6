package peers

import (
	"context"
	"strconv"
	"sync/atomic"

	"github.com/afex/hystrix-go/hystrix"
)

// Hystrix is afex/hystrix-go, called with DoC and no fallback. It is
// measured in serial scenarios only: every call starts two goroutines (one
// runs the function, one watches its timeout) and sends its outcome over a
// channel to a metrics goroutine, so under RunParallel it measures the
// scheduler rather than the breaker.
//
// Configuration: SleepWindow 60 s; RequestVolumeThreshold 5 and
// ErrorPercentThreshold 50, the nearest it has to "5 failures in a row":
// hystrix-go has no consecutive-failure rule. MaxConcurrentRequests is
// raised from 10 to hystrixMaxConcurrent: DoC returns as soon as the
// function has run, before the goroutine that ran it hands back its
// concurrency ticket, so even a single caller in a loop holds several
// tickets at once. At the default of 10, on a busy 2-core machine, a
// loop of 20,000 serial successful calls had 15-25 % of them refused "max
// concurrency", which hystrix counts as errors: the circuit tripped in the
// middle of the closed-success benchmark.
//
// Differences: it trips on a rolling error percentage over the last 10 s
// (once at least 5 requests were seen), counted asynchronously by the
// metrics goroutine, so a trip lands some calls after the failure that
// caused it. Half-open lets one probe through per sleep window and closes on
// its first success (not 3). Each call also arms a timer for the command
// timeout (its default, 1 s) and a concurrency ticket (default 10).
// Circuits live in a global registry by name, each with a goroutine that is
// never stopped; every adapter takes a fresh name. There is no exported call
// to trip it by hand: Trip fails calls.
type Hystrix struct {
	name string
}

var hystrixSeq atomic.Int64

// hystrixMaxConcurrent is the MaxConcurrentRequests of every Hystrix
// adapter: far more than a serial caller's leftover goroutines hold.
const hystrixMaxConcurrent = 10_000

// NewHystrix returns a closed Hystrix under a name of its own.
func NewHystrix(Scenario) *Hystrix {
	name := "peers-" + strconv.FormatInt(hystrixSeq.Add(1), 10)
	hystrix.ConfigureCommand(name, hystrix.CommandConfig{
		SleepWindow:            int(OpenFor.Milliseconds()),
		MaxConcurrentRequests:  hystrixMaxConcurrent,
		RequestVolumeThreshold: Failures,
		ErrorPercentThreshold:  50,
	})
	return &Hystrix{name: name}
}

// Run calls t through DoC.
func (a *Hystrix) Run(ctx context.Context, t *Target) (int, error) {
	return 0, hystrix.DoC(ctx, a.name, t.ErrCtx, nil)
}

// Trip fails calls until the metrics goroutine has counted enough of them
// for the circuit to open: the count lags behind the calls.
func (a *Hystrix) Trip() error { return tripByFailing(a) }

// Closed reports whether the circuit is closed. Like every call, it may open
// a circuit whose counted error percentage is over the threshold.
func (a *Hystrix) Closed() bool {
	c, _, err := hystrix.GetCircuit(a.name)
	return err == nil && !c.IsOpen()
}
