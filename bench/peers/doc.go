// Package peers measures tripwire against the circuit breakers Go users
// would pick instead, call for call, in one run.
//
// It is its own module so that the main module never depends on a peer.
//
// # Adapters
//
// Each library sits behind an [Adapter] configured as closely as the
// library allows to tripwire's defaults: trip after 5 consecutive failures,
// stay open 60 s, then let 3 probes through. Where a library cannot be
// configured that way, its adapter's doc comment says how it differs, and
// RESULTS.md repeats it. The adapter test checks that every adapter passes
// calls while closed and rejects them without running them while open, so
// that the benchmarks compare like with like.
//
// # Benchmarks
//
// The benchmark loops are generated (see cmd/genbench) rather than shared
// through an interface or a closure: an indirect call per iteration would be
// charged to every library, floor included, and squeeze the ratios towards
// one. Each generated loop makes the library's own call, written out as the
// adapter's Run makes it, so that what is measured is that call and nothing
// the compiler declines to inline around it.
//
// Names follow BenchmarkPeers/scenario=S/lib=L/mode=M. run.sh runs them in
// interleaved rounds and writes RESULTS.md; ci.sh runs each once.
package peers

//go:generate go run ./cmd/genbench
