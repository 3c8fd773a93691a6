package redisfleet

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/fleet"
)

// DefaultPrefix starts every key and the events channel when
// Options.Prefix is empty.
const DefaultPrefix = "tw"

// Options configures a [Store]. The zero value is valid.
type Options struct {
	// Prefix starts every key ("tw:{name}:r") and the events channel
	// ("tw:events"). Empty means DefaultPrefix. Give fleets that share a
	// Redis but must not share circuits different prefixes.
	Prefix string
}

// Store is a [fleet.Store] over Redis: each step is one Lua script, run
// with EVALSHA, that reads the time from the server. Build one with [New];
// the zero value is not usable. Safe for concurrent use.
//
// A circuit named name keeps six keys, all with the hash tag {name} so
// that a Redis Cluster holds them on one node: the record
// "<prefix>:{name}:r", the probe leases ":l", the trips of the quorum ":t",
// the fleet-wide counts ":c", the instances that closed on their own
// probes ":d", and the totals taken from each fleet.Counts.Sender ":s" (so
// that a flush sent again adds nothing twice). Each step sets them to
// expire after
// Params.Retention, so the circuits of a service that went away do not
// stay behind.
type Store struct {
	c       redis.UniversalClient
	prefix  string
	channel string
	// offset moves the server's time on, in µs: set only by this
	// package's tests, to drive a real server's open periods and leases.
	offset atomic.Int64
}

var (
	trip    = redis.NewScript(tripScript)
	flush   = redis.NewScript(flushScript)
	acquire = redis.NewScript(acquireScript)
	report  = redis.NewScript(reportScript)
	force   = redis.NewScript(forceScript)
	closed  = redis.NewScript(closedScript)
)

// New returns a store that keeps its records through c: a *redis.Client,
// a *redis.ClusterClient or a failover client. Give c a
// ContextTimeoutEnabled option, so that a step gives up at its context's
// deadline rather than at the client's read timeout.
func New(c redis.UniversalClient, o Options) *Store {
	p := o.Prefix
	if p == "" {
		p = DefaultPrefix
	}
	return &Store{c: c, prefix: p, channel: p + ":events"}
}

func (s *Store) keys(name string) []string {
	k := s.prefix + ":{" + name + "}:"
	return []string{k + "r", k + "l", k + "t", k + "c", k + "d", k + "s"}
}

func micros(d time.Duration) string { return strconv.FormatInt(d.Microseconds(), 10) }

func incarnation() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return hex.EncodeToString(b[:])
}

// args returns ARGV for a step of name under p, followed by extra.
func (s *Store) args(name string, p fleet.Params, extra ...any) []any {
	a := []any{
		fleet.ProtocolVersion, incarnation(),
		p.Quorum, micros(p.QuorumWindow), micros(p.OpenTimeout),
		strconv.FormatFloat(p.BackoffFactor, 'g', -1, 64), micros(p.BackoffMax),
		p.Probes, micros(p.ProbeTimeout),
		strconv.FormatFloat(p.FailureRate, 'g', -1, 64), p.MinCalls, micros(p.RateWindow),
		p.Retention.Milliseconds(), name, s.channel, s.offset.Load(), p.Rules(),
	}
	return append(a, extra...)
}

// checkName refuses a circuit whose keys would not share one hash tag,
// and so in a Redis Cluster one slot (see checkTag).
func (s *Store) checkName(name string) error {
	if name == "" {
		return errors.New("redisfleet: a circuit needs a name: its keys' hash tag is made of it")
	}
	return checkTag(s.prefix, name)
}

// run runs script for name and reads its reply.
func (s *Store) run(ctx context.Context, sc *redis.Script, name string, p fleet.Params, extra ...any) (fleet.Verdict, fleet.Record, error) {
	if err := s.checkName(name); err != nil {
		return 0, fleet.Record{}, err
	}
	res, err := sc.Run(ctx, s.c, s.keys(name), s.args(name, p, extra...)...).Result()
	s.unanswered(err)
	return parseReply(name, res, err)
}

// Trip implements [fleet.Store.Trip].
func (s *Store) Trip(ctx context.Context, name string, t fleet.TripRequest, p fleet.Params) (fleet.Record, error) {
	_, rec, err := s.run(ctx, trip, name, p, t.Instance, t.Incarnation, strconv.FormatUint(t.Generation, 10))
	return rec, err
}

// Closed implements [fleet.Store.Closed].
func (s *Store) Closed(ctx context.Context, name string, c fleet.CloseRequest, p fleet.Params) (fleet.Record, error) {
	_, rec, err := s.run(ctx, closed, name, p, c.Instance, c.Incarnation, strconv.FormatUint(c.Generation, 10))
	return rec, err
}

// Flush implements [fleet.Store.Flush]: the steps of the whole batch go to
// Redis in one pipeline, one round trip (on a cluster, one to each master
// involved, in parallel). A server that lost the script (a restart, a
// failover to a replica, SCRIPT FLUSH) refuses its circuits' steps with
// NOSCRIPT, and only those are sent again, the first by EVAL, which loads
// the script where it goes, so that the steps after it on that server find
// it: a round trip more per server that lost it. Sending the others again
// would count them twice; SCRIPT LOAD would go to every node of a cluster,
// and wait on any that does not answer.
func (s *Store) Flush(ctx context.Context, batch []fleet.Counts, p fleet.Params) ([]fleet.Record, []error, error) {
	for _, c := range batch {
		if err := s.checkName(c.Name); err != nil {
			return nil, nil, err
		}
	}
	cmds := make([]*redis.Cmd, len(batch))
	pending := make([]int, len(batch))
	for i := range pending {
		pending[i] = i
	}
	// Each round after the first ends the NOSCRIPT of the step it sends
	// by EVAL, so the rounds end.
	for round := 0; len(pending) > 0; round++ {
		pipe := s.c.Pipeline()
		for k, i := range pending {
			run := flush.EvalSha
			if round > 0 && k == 0 {
				run = flush.Eval
			}
			c := batch[i]
			cmds[i] = run(ctx, pipe, s.keys(c.Name), s.args(c.Name, p,
				strconv.FormatUint(c.Successes, 10), strconv.FormatUint(c.Failures, 10), c.Sender,
				strconv.FormatUint(c.AckedSuccesses, 10), strconv.FormatUint(c.AckedFailures, 10))...)
		}
		_, err := pipe.Exec(ctx)
		s.unanswered(err)
		pending = slices.DeleteFunc(pending, func(i int) bool { return !redis.HasErrorPrefix(cmds[i].Err(), "NOSCRIPT") })
	}
	recs := make([]fleet.Record, len(batch))
	errs := make([]error, len(batch))
	failed := 0
	for i, cmd := range cmds {
		res, err := cmd.Result()
		_, recs[i], errs[i] = parseReply(batch[i].Name, res, err)
		if errs[i] != nil && !errors.As(errs[i], new(*fleet.RecordError)) {
			failed++
		}
	}
	if failed == len(batch) && failed > 0 {
		return nil, nil, errs[0]
	}
	return recs, errs, nil
}

// AcquireProbe implements [fleet.Store.AcquireProbe].
func (s *Store) AcquireProbe(ctx context.Context, name string, q fleet.ProbeRequest, p fleet.Params) (fleet.Verdict, fleet.Record, error) {
	return s.run(ctx, acquire, name, p, q.Incarnation, strconv.FormatUint(q.Generation, 10), q.Lease)
}

// ReportProbe implements [fleet.Store.ReportProbe].
func (s *Store) ReportProbe(ctx context.Context, name string, q fleet.ProbeReport, p fleet.Params) (fleet.Record, error) {
	o := "i"
	switch q.Outcome {
	case breaker.Success:
		o = "s"
	case breaker.Failure:
		o = "f"
	}
	_, rec, err := s.run(ctx, report, name, p, q.Incarnation, strconv.FormatUint(q.Generation, 10), q.Lease, o)
	return rec, err
}

// Force implements [fleet.Store.Force].
func (s *Store) Force(ctx context.Context, name string, m fleet.Mode, p fleet.Params) (fleet.Record, error) {
	if m > fleet.ModeDisabled {
		return fleet.Record{}, errors.New("redisfleet: Force: unknown mode " + m.String())
	}
	_, rec, err := s.run(ctx, force, name, p, int(m))
	return rec, err
}

// subscribeTimeout bounds the wait for a subscription's confirmation.
const subscribeTimeout = 2 * time.Second

// Events implements [fleet.Store.Events] with one subscription, one
// connection, for every circuit of the store: a process needs one, however
// many breakers it shares. The go-redis client reconnects and subscribes
// again after a failure; events published in between are lost, and the
// coordinator's flushes make up for them. A message that is not a record
// is dropped.
func (s *Store) Events(ctx context.Context) (<-chan fleet.Record, error) {
	ps := s.c.Subscribe(ctx, s.channel)
	// The subscription's confirmation, within a deadline: a server that
	// is stopped must not hold the caller past it.
	rctx, cancel := context.WithTimeout(ctx, subscribeTimeout)
	_, err := ps.Receive(rctx)
	cancel()
	if err != nil {
		_ = ps.Close()
		return nil, err
	}
	in := ps.Channel()
	out := make(chan fleet.Record)
	go func() {
		defer close(out)
		defer func() {
			_ = ps.Close()
			for range in { // ends when go-redis's reader has stopped
			}
		}()
		for {
			select {
			case <-ctx.Done():
				return
			case m, ok := <-in:
				if !ok {
					return
				}
				rec, err := parseEvent(m.Payload)
				if err != nil {
					continue
				}
				select {
				case out <- rec:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return out, nil
}

// parseReply reads a script's reply, or turns its error into a
// fleet.RecordError when the script refused a record it could not read.
func parseReply(name string, res any, err error) (fleet.Verdict, fleet.Record, error) {
	if err != nil {
		msg := err.Error()
		switch {
		case strings.HasPrefix(msg, "TWVERSION "):
			return 0, fleet.Record{}, fleet.NewRecordError(name, "Version", "written by protocol version "+strings.TrimPrefix(msg, "TWVERSION ")+", newer than this package's "+strconv.Itoa(fleet.ProtocolVersion))
		case strings.HasPrefix(msg, "TWBAD "):
			field, val, _ := strings.Cut(strings.TrimPrefix(msg, "TWBAD "), " ")
			return 0, fleet.Record{}, fleet.NewRecordError(name, field, "malformed value "+strconv.Quote(val))
		}
		return 0, fleet.Record{}, err
	}
	list, ok := res.([]any)
	if !ok || len(list) != 11 {
		return 0, fleet.Record{}, fleet.NewRecordError(name, "reply", "not a record of 11 fields")
	}
	fields := make([]string, len(list))
	for i, v := range list {
		if fields[i], ok = v.(string); !ok {
			return 0, fleet.Record{}, fleet.NewRecordError(name, "reply", "field "+strconv.Itoa(i)+" is not a string")
		}
	}
	v, err := strconv.Atoi(fields[0])
	if err != nil {
		return 0, fleet.Record{}, fleet.NewRecordError(name, "verdict", "malformed value "+strconv.Quote(fields[0]))
	}
	rec, err := parseRecord(name, fields[1:])
	return fleet.Verdict(v), rec, err
}

// parseRecord reads version, incarnation, generation, state, mode,
// remaining µs, opens, probing, succeeded and rules, and validates the
// record.
func parseRecord(name string, f []string) (fleet.Record, error) {
	rec := fleet.Record{Name: name, Incarnation: f[1], Rules: f[9]}
	var n [8]int64
	for i, j := range []int{0, 2, 3, 4, 5, 6, 7, 8} {
		x, err := strconv.ParseInt(f[j], 10, 64)
		if err != nil || x < 0 {
			return fleet.Record{}, fleet.NewRecordError(name, recordFields[j], "malformed value "+strconv.Quote(f[j]))
		}
		n[i] = x
	}
	rec.Version = int(n[0])
	rec.Generation = uint64(n[1])
	switch n[2] {
	case 0:
		rec.State = breaker.Closed
	case 1:
		rec.State = breaker.Open
	case 2:
		rec.State = breaker.HalfOpen
	default:
		return fleet.Record{}, fleet.NewRecordError(name, "State", "unknown state "+f[3])
	}
	rec.Mode = fleet.Mode(min(n[3], 255))
	// At most the longest Duration: a period of 2^63 ns, a hair more in
	// µs after the script's arithmetic in doubles, must not wrap negative.
	rec.Remaining = time.Duration(min(n[4], math.MaxInt64/int64(time.Microsecond))) * time.Microsecond
	rec.Opens, rec.Probing, rec.Succeeded = int(n[5]), int(n[6]), int(n[7])
	return rec, rec.Validate()
}

var recordFields = []string{"Version", "Incarnation", "Generation", "State", "Mode", "Remaining", "Opens", "Probing", "Succeeded", "Rules"}

// parseEvent reads a published record: its fields as in a reply, without
// the verdict, joined by "|", with the name last.
func parseEvent(payload string) (fleet.Record, error) {
	f := strings.SplitN(payload, "|", 11)
	if len(f) != 11 {
		return fleet.Record{}, fleet.NewRecordError("", "event", "not a record")
	}
	return parseRecord(f[10], f[:10])
}
