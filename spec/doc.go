// Package spec reads and writes breaker configurations as one line of
// text, so that the same string configures a breaker in a flag, a config
// file, the lab's -policies and the answer of its -tune:
//
//	rate(0.3,20,10s)@open=30s,probes=1
//
// reads "trip when 30% of at least 20 calls in the last 10 s failed; stay
// open 30 s; then let one probe through". [Parse] reads it into a [Spec],
// [Config] turns that into a breaker.Config of any type, and
// [Spec.String] writes it back in a canonical form that Parse reads to an
// equal Spec, as time.ParseDuration reads what Duration.String writes.
//
//	s, err := spec.Parse("rate(0.3,20,10s)@open=30s,probes=1")
//	if err != nil {
//		return err // a *spec.Error: "spec: column 6: Rate.ratio: ..."
//	}
//	cfg := spec.Config[*http.Response](s)
//	cfg.Name = "payments"
//	b, err := breaker.New(cfg)
//
// A Spec is a [flag.Value] (flag.Var(&s, "breaker", "...")) and an
// [encoding.TextMarshaler] and [encoding.TextUnmarshaler], so it is a
// string in a JSON config file, and in any format whose library reads and
// writes text marshalers.
//
// # Grammar
//
// In EBNF, with spaces and tabs allowed between the parts:
//
//	line     = spec { "shadow" spec } | "shadow" spec { "shadow" spec } .
//	spec     = policy [ "@" settings ] | "@" settings .
//	policy   = family "(" arg { "," arg } ")"
//	         | ( "any" | "all" ) "(" policy { "," policy } ")" .
//	settings = setting { "," setting } .
//	setting  = key "=" value .
//	list     = line { "," line } .   (ParseList only)
//
// A policy is written as its constructor in package policy is, lowercased
// (names are read in any case), with the same arguments in the same
// order:
//
//	consecutive(failures)                   policy.Consecutive
//	window(failures, over)                  policy.Window
//	rate(ratio, minCalls, over)             policy.Rate
//	lastn(ratio, minCalls, n)               policy.LastN
//	slow(threshold, ratio, minCalls, over)  policy.Slow
//	any(p, ...)                             policy.Any
//	all(p, ...)                             policy.All
//
// Counts (failures, minCalls, n) are whole numbers of at least 1; a ratio
// is a fraction in (0, 1]; durations (over, threshold) are positive Go
// durations: "10s", "1m30s", "250ms". Parse also checks what breaker.New
// would check of the policy: LastN's minCalls at most n, Slow's threshold
// at most over.
//
// The settings set the breaker.Config fields of the same meaning; a
// setting left out keeps the field's zero value, which means the
// breaker's default:
//
//	open=D            OpenTimeout: a positive duration
//	probes=N          HalfOpenProbes: 1 to 65535
//	close-after=N     CloseAfter: 1 to 65535
//	backoff=D         Backoff.Max, the longest open period: at least open
//	backoff-factor=F  Backoff.Factor: 1 to 1000; needs backoff
//	backoff-jitter=F  Backoff.Jitter: in [0, 1); needs backoff
//	probe-timeout=D   ProbeTimeout: a positive duration, or off for breaker.NoProbeTimeout
//
// any and all nest at most [MaxDepth] deep. A setting may be given once. A spec with no policy ("@open=30s") sets
// only settings: its Config has a nil Policy, which breaker.New takes for
// its default.
//
// # Shadows
//
// A line may carry, after the live spec, shadow candidates: specs that
// run observe-only beside it ([breaker.Config.Shadows]), each after the
// word shadow (read in any case):
//
//	consecutive(5)@open=60s shadow rate(0.3,20,10s)@open=30s shadow lastn(0.5,10,20)
//
// reads "trip after 5 failures in a row; and show, on the same calls,
// what rate(...) with a 30 s open period, and lastn(...), would have
// done". [Spec.Shadows] holds them and [Config] gives each breaker fresh
// candidates, named by their canonical specs. A shadow has no shadows of
// its own, and no ramp= or retry-after-max=: a candidate takes those from
// the live breaker. At most breaker.MaxShadows, none given twice. In a
// list, ',' separates lines: the shadows stay with the line they follow
// ("a shadow b@open=30s,probes=1,c" is a with shadow b, then c). A line
// of shadows alone ("shadow rate(0.3,20,10s)") leaves the live spec
// empty: the breaker's defaults. The lab runs the live spec and each
// shadow as candidates side by side (docs/shadow.md).
//
// # Canonical form
//
// [Spec.String] writes no spaces (but one either side of the word shadow), policy names lowercased, settings in
// the order of the table above, durations without zero units ("1m", not
// "1m0s") and in ASCII ("250us"), and numbers as
// strconv.FormatFloat(v, 'g', -1, 64) does ("0.30" as "0.3", "+5" as "5").
// Parse reads the canonical form back to an equal Spec, and String of a
// parsed Spec is canonical: parsing and printing it again changes nothing.
//
// # Errors
//
// Every error of Parse and ParseList is an [*Error] that wraps
// [ErrInvalid], names the argument at fault as written in Go
// ("Rate.ratio") or the setting as written in the spec ("@open"), and
// points at the offending character:
//
//	spec: column 6: Rate.ratio: must be a fraction in (0, 1], got 1.5
//	rate(1.5,20,10s)
//	     ^
//
// # Lists and names
//
// [ParseList] reads several specs separated by ',' (a ',' after a setting
// continues the settings when "key=" follows), as the lab's -policies
// flag does. It may be given names that stand for configurations the
// caller defines: the lab's default candidates, "rate@open=30s".
package spec
