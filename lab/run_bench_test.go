package lab

import "testing"

// BenchmarkRun replays each built-in scenario (five minutes of 50 calls a
// second) against each default candidate: it backs the package documentation's
// claim that a scenario of minutes runs in milliseconds.
func BenchmarkRun(b *testing.B) {
	for _, s := range Builtin() {
		for _, p := range DefaultCandidates() {
			b.Run("scenario="+s.Name+"/candidate="+p.Name, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if _, err := Run([]Scenario{s}, []Candidate{p}, 1); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
