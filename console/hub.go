package console

import (
	"encoding/json"
	"net/http"
	"sync"
	"time"

	"github.com/tripwire-go/tripwire/breaker"
)

// hub feeds the open streams: one goroutine, running only while at least
// one stream is open, that listens to the transitions of every circuit and
// reads every circuit's counts once per interval. Every stream gets the
// same messages, encoded once.
type hub struct {
	c *Console

	mu      sync.Mutex
	clients map[*client]bool
	stop    chan struct{} // closed to stop the running goroutine; nil when none runs
	done    chan struct{} // closed when it has stopped
	events  chan breaker.Transition
}

// client is one open stream. Messages that do not fit in its buffer are
// dropped: the next counts catch it up.
type client struct {
	msgs chan []byte
	gone chan struct{} // closed by closeAll
}

// eventBuffer is how many transitions wait for the hub's goroutine before
// more are dropped (the next counts still show each circuit's state).
const eventBuffer = 1024

func (h *hub) join() *client {
	cl := &client{msgs: make(chan []byte, 64), gone: make(chan struct{})}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.clients == nil {
		h.clients = make(map[*client]bool)
	}
	h.clients[cl] = true
	if h.stop == nil {
		h.stop, h.done = make(chan struct{}), make(chan struct{})
		h.events = make(chan breaker.Transition, eventBuffer)
		go h.run(h.stop, h.done, h.events)
	}
	return cl
}

// leave removes cl, and stops the goroutine with the last stream. It waits
// for the goroutine to end, so that no goroutine outlives the streams.
func (h *hub) leave(cl *client) {
	h.mu.Lock()
	delete(h.clients, cl)
	var done chan struct{}
	if len(h.clients) == 0 && h.stop != nil {
		close(h.stop)
		done = h.done
		h.stop, h.done = nil, nil
	}
	h.mu.Unlock()
	if done != nil {
		<-done
	}
}

func (h *hub) closeAll() {
	h.mu.Lock()
	for cl := range h.clients {
		select {
		case <-cl.gone:
		default:
			close(cl.gone)
		}
	}
	h.mu.Unlock()
}

// broadcast gives msg to every stream, without waiting for any.
func (h *hub) broadcast(msg []byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for cl := range h.clients {
		select {
		case cl.msgs <- msg:
		default:
		}
	}
}

// run is the hub's goroutine: it subscribes to every circuit (and to those
// added to the registry later, at each tick), relays transitions, and
// sends counts each interval. It unsubscribes from everything before it
// ends.
func (h *hub) run(stop, done chan struct{}, events chan breaker.Transition) {
	defer close(done)
	subs := map[breaker.Circuit]func(){}
	defer func() {
		for _, cancel := range subs {
			cancel()
		}
	}()
	listen := func(t breaker.Transition) {
		// Called on the circuit's goroutine when it changes state: never
		// wait there.
		select {
		case events <- t:
		default:
		}
	}
	subscribe := func() {
		seen := make(map[breaker.Circuit]bool, len(subs))
		h.c.reg.Each(func(_ string, cc breaker.Circuit) {
			seen[cc] = true
			if subs[cc] == nil {
				subs[cc] = cc.Subscribe(listen)
			}
		})
		for cc, cancel := range subs {
			if !seen[cc] {
				cancel()
				delete(subs, cc)
			}
		}
	}
	subscribe()
	h.broadcast(h.counts())
	tick := time.NewTicker(h.c.opts.Interval)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return
		case t := <-events:
			h.broadcast(message("transition", toTransition(t)))
		case <-tick.C:
			subscribe()
			h.broadcast(h.counts())
		}
	}
}

// countsJSON is one circuit in a "counts" message: what changes between
// transitions. The API's circuitJSON holds it too.
type countsJSON struct {
	Name      string        `json:"name"`
	State     breaker.State `json:"state"`
	Mode      breaker.Mode  `json:"mode"`
	Since     time.Time     `json:"since"`
	Until     *time.Time    `json:"until,omitempty"`
	Counted   bool          `json:"counted"`
	Successes uint64        `json:"successes"`
	Failures  uint64        `json:"failures"`
	Ignored   uint64        `json:"ignored"`
	Rejected  uint64        `json:"rejected"`
	// ErrorRate and Volume are over the last one to two minutes once the
	// console has listed the circuit that long, since the breaker was
	// built before: failures among finished calls, and calls of every
	// outcome (rejections included).
	ErrorRate float64    `json:"error_rate"`
	Volume    uint64     `json:"volume"`
	Probes    int        `json:"probes_in_flight"`
	Fleet     *fleetJSON `json:"fleet,omitempty"`
	// ShadowOnly marks a breaker that rejects nothing (Config.ShadowOnly):
	// its state is what it would have done; WouldReject counts the calls
	// it would have rejected.
	ShadowOnly  bool   `json:"shadow_only,omitempty"`
	WouldReject uint64 `json:"would_reject,omitempty"`
}

// counts is the "counts" message: every circuit's metrics, read now.
func (h *hub) counts() []byte {
	now := time.Now()
	var out struct {
		Now      time.Time     `json:"now"`
		Fleet    *fleetSummary `json:"fleet,omitempty"`
		Circuits []countsJSON  `json:"circuits"`
	}
	out.Now = now
	if co := h.c.opts.Fleet; co != nil {
		out.Fleet = &fleetSummary{Instance: co.Instance(), Degraded: co.Degraded()}
	}
	out.Circuits = []countsJSON{}
	h.c.reg.Each(func(name string, cc breaker.Circuit) {
		m := cc.Metrics()
		j := fromMetrics(name, m)
		h.c.rates.recent(&j, m, now)
		j.Fleet = h.c.fleetView(name)
		out.Circuits = append(out.Circuits, j.countsJSON)
	})
	h.c.rates.forget(now)
	return message("counts", out)
}

// message encodes one server-sent event.
func message(event string, v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		b = []byte(`{"error":"encoding"}`)
	}
	return append(append([]byte("event: "+event+"\ndata: "), b...), '\n', '\n')
}

func (c *Console) serveEvents(w http.ResponseWriter, r *http.Request) {
	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return
	}
	if err := rc.Flush(); err != nil {
		return // the connection cannot stream
	}
	cl := c.hub.join()
	defer c.hub.leave(cl)
	for {
		select {
		case <-r.Context().Done():
			return
		case <-cl.gone:
			return
		case msg := <-cl.msgs:
			if _, err := w.Write(msg); err != nil {
				return
			}
			if err := rc.Flush(); err != nil {
				return
			}
		}
	}
}
