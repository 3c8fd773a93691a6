package console

import (
	"cmp"
	"context"
	"crypto/rand"
	"crypto/subtle"
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/fleet"
	"github.com/tripwire-go/tripwire/spec"
)

// Options configure a [Console]. The zero value is a read-only console
// with no fleet.
type Options struct {
	// Authorize, if set, makes the console take actions: it is called for
	// each action request that passed the console's own checks (POST,
	// origin, token) and returns who acts, for the log and the evidence,
	// or an error to refuse. nil: the console is read-only, and every
	// action is refused with 403.
	Authorize func(r *http.Request) (who string, err error)
	// Fleet, if set, is the coordinator the circuits are attached to: the
	// console shows the fleet's record of each attached circuit and
	// whether the coordinator is degraded, and takes fleet-wide actions
	// through it.
	Fleet *fleet.Coordinator
	// Logger logs every action taken, and every one refused after
	// authorization. nil: slog.Default().
	Logger *slog.Logger
	// Origins are origins, besides the console's own, from which a browser
	// may send actions, as "https://admin.example.com". Rarely needed.
	Origins []string
	// Interval is how often the live stream sends every circuit's counts.
	// 0 means DefaultInterval.
	Interval time.Duration
	// Timeline is how far back the timeline of each circuit goes. 0 means
	// DefaultTimeline.
	Timeline time.Duration
	// Title is the page's title. Empty: "tripwire".
	Title string
}

// Defaults of [Options].
const (
	// DefaultInterval is how often the stream sends counts.
	DefaultInterval = 2 * time.Second
	// DefaultTimeline is how far back a circuit's timeline goes.
	DefaultTimeline = 15 * time.Minute
	// TokenHeader is the header that carries the console's token on an
	// action request.
	TokenHeader = "X-Tripwire-Token"
	// MaxReason is the longest reason an action may give, in bytes.
	MaxReason = 500
)

// Console is the operator's page, API and stream for the circuits of a
// registry: an http.Handler. Build one with [New]; it is safe for
// concurrent use.
type Console struct {
	reg   *breaker.Registry
	opts  Options
	log   *slog.Logger
	token string
	hub   hub
	rates rates
}

// New returns a console for the circuits of reg. It fails if reg is nil
// or an option is invalid.
func New(reg *breaker.Registry, opts Options) (*Console, error) {
	if reg == nil {
		return nil, errors.New("console: New: the registry is nil")
	}
	if opts.Interval < 0 {
		return nil, errors.New("console: Options.Interval must not be negative, got " + opts.Interval.String())
	}
	if opts.Timeline < 0 {
		return nil, errors.New("console: Options.Timeline must not be negative, got " + opts.Timeline.String())
	}
	if opts.Interval == 0 {
		opts.Interval = DefaultInterval
	}
	if opts.Timeline == 0 {
		opts.Timeline = DefaultTimeline
	}
	if opts.Title == "" {
		opts.Title = "tripwire"
	}
	for _, o := range opts.Origins {
		if u, err := url.Parse(o); err != nil || u.Scheme == "" || u.Host == "" || u.Path != "" {
			return nil, errors.New("console: Options.Origins: " + o + " is not an origin such as https://admin.example.com")
		}
	}
	c := &Console{reg: reg, opts: opts, log: opts.Logger, token: randomToken()}
	if c.log == nil {
		c.log = slog.Default()
	}
	c.hub.c = c
	return c, nil
}

func randomToken() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b) // never fails (crypto/rand panics rather)
	return base64.RawURLEncoding.EncodeToString(b)
}

// Close ends every open stream and stops the console's goroutine, for a
// graceful shutdown (http.Server.Shutdown does not end streams). The
// console still serves afterwards; a new stream starts it again.
func (c *Console) Close() { c.hub.closeAll() }

// ServeHTTP routes on the end of the path, so that the console works
// wherever it is mounted.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	switch {
	case strings.HasSuffix(p, "/api/circuits"):
		c.get(w, r, c.serveList)
	case strings.HasSuffix(p, "/api/circuit"):
		c.get(w, r, c.serveOne)
	case strings.HasSuffix(p, "/api/events"):
		c.get(w, r, c.serveEvents)
	case strings.HasSuffix(p, "/api/action"):
		c.serveAction(w, r)
	case p == "" || strings.HasSuffix(p, "/"):
		c.get(w, r, c.servePage)
	default:
		http.NotFound(w, r)
	}
}

func (c *Console) get(w http.ResponseWriter, r *http.Request, serve func(http.ResponseWriter, *http.Request)) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		httpError(w, http.StatusMethodNotAllowed, "console: "+r.Method+" not allowed here")
		return
	}
	w.Header().Set("X-Content-Type-Options", "nosniff")
	serve(w, r)
}

//go:embed page.html
var pageHTML string

var page = template.Must(template.New("page").Parse(pageHTML))

func (c *Console) servePage(w http.ResponseWriter, _ *http.Request) {
	nonce := randomToken()
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'nonce-"+nonce+"'; style-src 'nonce-"+nonce+"'; connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
	_ = page.Execute(w, map[string]any{
		"Title": c.opts.Title, "Nonce": nonce, "Token": c.writableToken(),
		"Writable": c.opts.Authorize != nil, "Fleet": c.opts.Fleet != nil,
	})
}

// writableToken is the token the page gets: none on a read-only console.
func (c *Console) writableToken() string {
	if c.opts.Authorize == nil {
		return ""
	}
	return c.token
}

// circuitJSON is one circuit as the API shows it: its counts (what a
// "counts" message of the stream carries too), and what changes only with
// its transitions.
type circuitJSON struct {
	countsJSON
	Trips         uint64           `json:"trips"`
	Reopens       uint64           `json:"reopens"`
	ManualOpens   uint64           `json:"manual_opens"`
	ExternalOpens uint64           `json:"external_opens"`
	Last          *transitionJSON  `json:"last,omitempty"`
	Timeline      []timelineJSON   `json:"timeline,omitempty"`
	History       []transitionJSON `json:"history,omitempty"`
	// Settings are the circuit's settings in the spec language, as the
	// apply action takes them.
	Settings string `json:"settings"`
	// Shadows are what the breaker's shadow candidates did
	// (breaker.Config.Shadows), for a breaker that has some.
	Shadows []shadowJSON `json:"shadows,omitempty"`
	// Candidates are the candidates in the spec language, as the shadow
	// action takes them ("shadow rate(0.3,20,10s)@open=30s shadow ..."),
	// and Line the whole line, settings and candidates, for a breaker
	// that has some.
	Candidates string `json:"candidates,omitempty"`
	Line       string `json:"line,omitempty"`
}

// shadowJSON is one shadow candidate of a circuit: what it would have
// done on the circuit's calls.
type shadowJSON struct {
	Name        string           `json:"name"`
	Settings    string           `json:"settings"`
	State       breaker.State    `json:"state"`
	Since       time.Time        `json:"since"`
	Until       *time.Time       `json:"until,omitempty"`
	Trips       uint64           `json:"trips"`
	Reopens     uint64           `json:"reopens"`
	Calls       uint64           `json:"calls"`
	WouldReject uint64           `json:"would_reject"`
	Panics      uint64           `json:"panics,omitempty"`
	LastPanic   string           `json:"last_panic,omitempty"`
	History     []transitionJSON `json:"history,omitempty"`
}

// transitionJSON is one transition with its evidence.
type transitionJSON struct {
	Name       string            `json:"name"`
	From       breaker.State     `json:"from"`
	To         breaker.State     `json:"to"`
	Cause      breaker.Cause     `json:"cause"`
	Mode       breaker.Mode      `json:"mode"`
	Generation uint64            `json:"generation"`
	At         time.Time         `json:"at"`
	Until      *time.Time        `json:"until,omitempty"`
	Evidence   *breaker.Evidence `json:"evidence,omitempty"`
	// Shadow marks a transition that changed nothing for calls (a
	// shadow-only breaker's, or a shadow candidate's, named by Candidate).
	Shadow    bool   `json:"shadow,omitempty"`
	Candidate string `json:"candidate,omitempty"`
}

// timelineJSON is one point of a circuit's timeline: from At on, it was in
// State.
type timelineJSON struct {
	At    time.Time     `json:"at"`
	State breaker.State `json:"state"`
}

// fleetJSON is the fleet's view of a circuit.
type fleetJSON struct {
	Attached bool           `json:"attached"`
	Known    bool           `json:"known"`
	Degraded bool           `json:"degraded"`
	Record   *fleet.Record  `json:"record,omitempty"`
	State    *breaker.State `json:"state,omitempty"`
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func toTransition(t breaker.Transition) transitionJSON {
	return transitionJSON{Name: t.Name, From: t.From, To: t.To, Cause: t.Cause, Mode: t.Mode,
		Generation: t.Generation, At: t.At, Until: timePtr(t.Until), Evidence: t.Evidence,
		Shadow: t.Shadow, Candidate: t.Candidate}
}

// fromMetrics fills what Metrics gives.
func fromMetrics(name string, m breaker.Metrics) circuitJSON {
	return circuitJSON{
		countsJSON: countsJSON{
			Name: name, State: m.State, Mode: m.Mode, Since: m.Since, Until: timePtr(m.Until),
			Counted: m.Counted, Successes: m.Successes, Failures: m.Failures, Ignored: m.Ignored, Rejected: m.Rejected,
			Probes: m.ProbesInFlight, ShadowOnly: m.ShadowOnly, WouldReject: m.WouldReject,
		},
		Trips: m.Trips, Reopens: m.Reopens, ManualOpens: m.ManualOpens, ExternalOpens: m.ExternalOpens,
	}
}

// describe reads one circuit: its metrics, its last transition, its
// timeline, and with history all its transitions kept.
func (c *Console) describe(name string, cc breaker.Circuit, now time.Time, history bool) circuitJSON {
	m := cc.Metrics()
	j := fromMetrics(name, m)
	c.rates.recent(&j, m, now)
	ts := cc.Transitions()
	if n := len(ts); n > 0 {
		last := toTransition(ts[n-1])
		j.Last = &last
	}
	j.Timeline = timeline(ts, j.State, j.Since, now.Add(-c.opts.Timeline))
	if history {
		j.History = make([]transitionJSON, len(ts))
		for i, t := range ts {
			j.History[i] = toTransition(t)
		}
	}
	j.Fleet = c.fleetView(name)
	j.Settings = cc.Settings().Text
	if s, ok := cc.(interface{ Shadows() []breaker.ShadowStatus }); ok {
		for _, st := range s.Shadows() {
			sj := shadowJSON{Name: st.Name, Settings: st.Settings, State: st.State, Since: st.Since, Until: timePtr(st.Until),
				Trips: st.Trips, Reopens: st.Reopens, Calls: st.Calls, WouldReject: st.WouldReject, Panics: st.Panics, LastPanic: st.LastPanic}
			if history {
				for _, t := range st.Transitions {
					sj.History = append(sj.History, toTransition(t))
				}
			}
			j.Shadows = append(j.Shadows, sj)
		}
		if j.Candidates = candidatesLine(j.Shadows); j.Candidates != "" {
			j.Line = j.Settings + " " + j.Candidates
		}
	}
	return j
}

// candidatesLine writes candidates as a spec line does: "shadow X shadow
// Y", each X its settings.
func candidatesLine(cands []shadowJSON) string {
	var b strings.Builder
	for _, sj := range cands {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(spec.ShadowWord + " " + sj.Settings)
	}
	return b.String()
}

// timeline returns the states of the circuit from start on: where it was at
// start, then each change of state after it.
func timeline(ts []breaker.Transition, state breaker.State, since, start time.Time) []timelineJSON {
	var out []timelineJSON
	first := state
	if len(ts) > 0 {
		first = ts[0].From
	}
	out = append(out, timelineJSON{At: start, State: first})
	for _, t := range ts {
		if t.From == t.To {
			continue
		}
		if !t.At.After(start) {
			out[0].State = t.To
			continue
		}
		out = append(out, timelineJSON{At: t.At, State: t.To})
	}
	// Metrics may report half-open before any transition says so (the
	// open period ended without a call).
	if last := out[len(out)-1]; last.State != state {
		out = append(out, timelineJSON{At: later(since, start), State: state})
	}
	return out
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func (c *Console) fleetView(name string) *fleetJSON {
	co := c.opts.Fleet
	if co == nil {
		return nil
	}
	v, ok := co.View(name)
	f := &fleetJSON{Attached: ok, Known: v.Known, Degraded: co.Degraded()}
	if v.Known {
		r := v.Record
		f.Record = &r
		f.State = &r.State
	}
	return f
}

// attention orders circuits: open, then half-open, then by error rate,
// then by volume, then by name. A shadow-only circuit ranks as a closed
// one, whatever its state: it rejects nothing.
func attention(a, b circuitJSON) int {
	rank := func(c circuitJSON) int {
		switch {
		case c.ShadowOnly:
		case c.State == breaker.Open:
			return 0
		case c.State == breaker.HalfOpen:
			return 1
		}
		return 2
	}
	if d := cmp.Compare(rank(a), rank(b)); d != 0 {
		return d
	}
	if d := cmp.Compare(b.ErrorRate, a.ErrorRate); d != 0 {
		return d
	}
	if d := cmp.Compare(b.Volume, a.Volume); d != 0 {
		return d
	}
	return cmp.Compare(a.Name, b.Name)
}

// listJSON is the answer of api/circuits.
type listJSON struct {
	Now        time.Time           `json:"now"`
	Writable   bool                `json:"writable"`
	Fleet      *fleetSummary       `json:"fleet,omitempty"`
	Circuits   []circuitJSON       `json:"circuits"`
	Collisions []breaker.Collision `json:"collisions,omitempty"`
}

type fleetSummary struct {
	Instance string `json:"instance"`
	Degraded bool   `json:"degraded"`
}

func (c *Console) list(now time.Time) listJSON {
	l := listJSON{Now: now, Writable: c.opts.Authorize != nil, Circuits: []circuitJSON{}}
	if co := c.opts.Fleet; co != nil {
		l.Fleet = &fleetSummary{Instance: co.Instance(), Degraded: co.Degraded()}
	}
	l.Collisions = c.reg.Each(func(name string, cc breaker.Circuit) {
		l.Circuits = append(l.Circuits, c.describe(name, cc, now, false))
	})
	c.rates.forget(now)
	slices.SortFunc(l.Circuits, attention)
	return l
}

func (c *Console) serveList(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, c.list(time.Now()))
}

func (c *Console) serveOne(w http.ResponseWriter, r *http.Request) {
	name := r.URL.Query().Get("name")
	cc, ok := c.reg.Lookup(name)
	if !ok {
		httpError(w, http.StatusNotFound, "console: no circuit named "+quote(name))
		return
	}
	writeJSON(w, http.StatusOK, c.describe(name, cc, time.Now(), true))
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func httpError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"error": msg})
}

// actionRequest is the body of an action.
type actionRequest struct {
	Name   string `json:"name"`
	Action string `json:"action"`
	For    string `json:"for"`
	Spec   string `json:"spec"` // apply's new settings, or shadow's candidates, in the spec language
	Reason string `json:"reason"`
	Fleet  bool   `json:"fleet"`
}

// actApply is the action that gives a circuit new settings
// (breaker.Circuit's Reconfigure), from a spec string.
const actApply = "apply"

// actShadow is the action that replaces a circuit's shadow candidates
// (Breaker.ReconfigureShadows), from a spec string of candidates.
const actShadow = "shadow"

// shadowed is what a circuit must be for the shadow action: every
// *breaker.Breaker[T] is.
type shadowed interface {
	ReconfigureShadows(shadows []breaker.Shadow, who, why string) error
	Shadows() []breaker.ShadowStatus
}

// serveAction checks an action request, cheapest refusal first, and takes
// it.
func (c *Console) serveAction(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		httpError(w, http.StatusMethodNotAllowed, "console: actions are POST only")
		return
	}
	if c.opts.Authorize == nil {
		httpError(w, http.StatusForbidden, "console: read-only: no authorizer was given (Options.Authorize)")
		return
	}
	if err := c.sameOrigin(r); err != nil {
		httpError(w, http.StatusForbidden, err.Error())
		return
	}
	if got := r.Header.Get(TokenHeader); subtle.ConstantTimeCompare([]byte(got), []byte(c.token)) != 1 {
		httpError(w, http.StatusForbidden, "console: missing or wrong "+TokenHeader+": actions come from the console's page")
		return
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		httpError(w, http.StatusUnsupportedMediaType, "console: an action's body is JSON (Content-Type: application/json)")
		return
	}
	who, err := c.opts.Authorize(r)
	if err != nil {
		c.log.Warn("tripwire console: action refused", "remote", r.RemoteAddr, "error", err.Error())
		httpError(w, http.StatusForbidden, "console: not authorized: "+err.Error())
		return
	}
	var req actionRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 8<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		httpError(w, http.StatusBadRequest, "console: bad action body: "+err.Error())
		return
	}
	code, err := c.take(r.Context(), who, req)
	if err != nil {
		var se *spec.Error
		if errors.As(err, &se) {
			// The page points at the column, as the lab does.
			writeJSON(w, code, map[string]any{"error": "console: " + err.Error(), "column": se.Column(), "caret": se.Caret()})
			return
		}
		httpError(w, code, err.Error())
		return
	}
	cc, _ := c.reg.Lookup(req.Name)
	if cc == nil {
		writeJSON(w, http.StatusOK, map[string]any{"ok": true})
		return
	}
	writeJSON(w, http.StatusOK, c.describe(req.Name, cc, time.Now(), false))
}

// take validates and takes an action; the code is for its error.
func (c *Console) take(ctx context.Context, who string, req actionRequest) (int, error) {
	switch req.Action {
	case actApply:
		return c.apply(who, req)
	case actShadow:
		return c.shadow(who, req)
	}
	kind, err := breaker.ParseActionKind(req.Action)
	if err != nil {
		return http.StatusBadRequest, errors.New("console: " + err.Error())
	}
	reason, err := reasonOf(req)
	if err != nil {
		return http.StatusBadRequest, err
	}
	var d time.Duration
	if kind == breaker.ActTripFor {
		if d, err = time.ParseDuration(req.For); err != nil || d <= 0 {
			return http.StatusBadRequest, errors.New("console: trip-for needs a positive duration in \"for\", such as \"30s\", got " + quote(req.For))
		}
	}
	attrs := []any{"who", who, "action", kind.String(), "circuit", req.Name, "why", reason, "fleet", req.Fleet}
	if kind == breaker.ActTripFor {
		attrs = append(attrs, "for", d.String())
	}
	if req.Fleet {
		co := c.opts.Fleet
		if co == nil {
			return http.StatusBadRequest, errors.New("console: no fleet coordinator is attached (Options.Fleet)")
		}
		var f func(context.Context, string) error
		switch kind {
		case breaker.ActForceOpen:
			f = co.ForceOpen
		case breaker.ActDisable:
			f = co.Disable
		case breaker.ActReset:
			f = co.Clear
		default:
			return http.StatusBadRequest, errors.New("console: the fleet takes force-open, disable and reset, not " + kind.String())
		}
		if err := f(ctx, req.Name); err != nil {
			c.log.Error("tripwire console: fleet action failed", append(attrs, "error", err.Error())...)
			return http.StatusBadGateway, errors.New("console: fleet: " + err.Error())
		}
		c.log.Warn("tripwire console: action", attrs...)
		return http.StatusOK, nil
	}
	cc, ok := c.reg.Lookup(req.Name)
	if !ok {
		return http.StatusNotFound, errors.New("console: no circuit named " + quote(req.Name))
	}
	if err := cc.Act(breaker.Action{Kind: kind, For: d, Who: who, Why: reason}); err != nil {
		return http.StatusBadRequest, errors.New("console: " + err.Error())
	}
	c.log.Warn("tripwire console: action", attrs...)
	return http.StatusOK, nil
}

// sameOrigin refuses a request that a browser says comes from another
// site: an Origin that is neither the console's own (the request's Host)
// nor one of Options.Origins, or, without an Origin, a Sec-Fetch-Site of
// "cross-site" or "same-site". A request with neither header is not from
// a browser's page (curl, a script), and the token still guards it.
func (c *Console) sameOrigin(r *http.Request) error {
	origin := r.Header.Get("Origin")
	if origin == "" {
		switch r.Header.Get("Sec-Fetch-Site") {
		case "cross-site", "same-site":
			return errors.New("console: cross-site request refused")
		}
		return nil
	}
	if slices.Contains(c.opts.Origins, origin) {
		return nil
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" || !strings.EqualFold(u.Host, r.Host) {
		return errors.New("console: cross-origin request refused: Origin " + quote(origin) + " is not this console's")
	}
	return nil
}

// reason checks and returns an action's reason.
func reasonOf(req actionRequest) (string, error) {
	reason := strings.TrimSpace(req.Reason)
	switch {
	case reason == "":
		return "", errors.New("console: an action needs a reason")
	case len(reason) > MaxReason:
		return "", errors.New("console: the reason is longer than 500 bytes")
	}
	return reason, nil
}

// apply gives one circuit the settings of req.Spec. A spec that does not
// parse is refused with its *spec.Error (the column of the fault); one
// the breaker refuses, with the breaker's error. The fleet takes no new
// settings: each instance has its own configuration.
func (c *Console) apply(who string, req actionRequest) (int, error) {
	reason, err := reasonOf(req)
	if err != nil {
		return http.StatusBadRequest, err
	}
	if req.Fleet {
		return http.StatusBadRequest, errors.New("console: the fleet takes force-open, disable and reset, not apply: apply new settings on each instance")
	}
	s, err := spec.Parse(req.Spec)
	if err != nil {
		return http.StatusBadRequest, err
	}
	cc, ok := c.reg.Lookup(req.Name)
	if !ok {
		return http.StatusNotFound, errors.New("console: no circuit named " + quote(req.Name))
	}
	old := cc.Settings().Text
	if err := cc.Reconfigure(s.Settings(), who, reason); err != nil {
		return http.StatusBadRequest, errors.New("console: " + err.Error())
	}
	c.log.Warn("tripwire console: action", "who", who, "action", actApply, "circuit", req.Name, "why", reason, "fleet", false, "old", old, "new", s.String())
	return http.StatusOK, nil
}

// shadow replaces one circuit's shadow candidates with those of req.Spec:
// a line of candidates only, each after the word shadow, or nothing to
// remove them all. Candidates given again alike keep what they counted
// (see breaker.Breaker.ReconfigureShadows). A spec that does not parse,
// or that holds live settings, is refused with its *spec.Error; one the
// breaker refuses, with the breaker's error. The fleet takes no
// candidates: each instance has its own.
func (c *Console) shadow(who string, req actionRequest) (int, error) {
	reason, err := reasonOf(req)
	if err != nil {
		return http.StatusBadRequest, err
	}
	if req.Fleet {
		return http.StatusBadRequest, errors.New("console: the fleet takes force-open, disable and reset, not shadow: set candidates on each instance")
	}
	var (
		shadows []breaker.Shadow
		line    string // as the log says them
	)
	if strings.TrimSpace(req.Spec) != "" {
		s, err := spec.Parse(req.Spec)
		if err != nil {
			return http.StatusBadRequest, err
		}
		if s.Live().String() != "" {
			at := len(req.Spec) - len(strings.TrimLeft(req.Spec, " \t"))
			return http.StatusBadRequest, spec.NewError(req.Spec, at, "", "the shadow action takes candidates only, each after the word shadow (shadow rate(0.3,20,10s)@open=30s); apply changes the live settings")
		}
		shadows, line = spec.Shadows(s), s.String()
	}
	cc, ok := c.reg.Lookup(req.Name)
	if !ok {
		return http.StatusNotFound, errors.New("console: no circuit named " + quote(req.Name))
	}
	sc, ok := cc.(shadowed)
	if !ok {
		return http.StatusBadRequest, errors.New("console: circuit " + quote(req.Name) + " takes no shadow candidates (it is not a *breaker.Breaker)")
	}
	old := candidatesOf(sc)
	if err := sc.ReconfigureShadows(shadows, who, reason); err != nil {
		return http.StatusBadRequest, errors.New("console: " + err.Error())
	}
	c.log.Warn("tripwire console: action", "who", who, "action", actShadow, "circuit", req.Name, "why", reason, "fleet", false, "old", old, "new", line)
	return http.StatusOK, nil
}

// candidatesOf writes sc's candidates as the shadow action takes them.
func candidatesOf(sc shadowed) string {
	var js []shadowJSON
	for _, st := range sc.Shadows() {
		js = append(js, shadowJSON{Settings: st.Settings})
	}
	return candidatesLine(js)
}
