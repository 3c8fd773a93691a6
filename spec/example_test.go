package spec_test

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"

	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/spec"
)

// Read a spec, build a breaker from it, and print it back in canonical
// form.
func ExampleParse() {
	s, err := spec.Parse("rate(0.3, 20, 10s) @ open=30s, probes=1")
	if err != nil {
		panic(err)
	}
	fmt.Println(s)
	fmt.Println(s.Policy.GoCode())
	fmt.Println(s.OpenTimeout, s.HalfOpenProbes)

	cfg := spec.Config[string](s)
	cfg.Name = "payments"
	b, err := breaker.New(cfg)
	if err != nil {
		panic(err)
	}
	fmt.Println(b.Name(), b.State())
	// Output:
	// rate(0.3,20,10s)@open=30s,probes=1
	// policy.Rate(0.3, 20, 10 * time.Second)
	// 30s 1
	// payments closed
}

// A mistake names the argument at fault and points at its column.
func ExampleError() {
	_, err := spec.Parse("rate(0.3,20,10)@open=30s")
	fmt.Println(err)
	var se *spec.Error
	if errors.As(err, &se) {
		fmt.Println(se.Caret())
	}
	// Output:
	// spec: column 13: Rate.over: "10" needs a unit: write it like "10s" or "250ms"
	// rate(0.3,20,10)@open=30s
	//             ^
}

// A Spec is a flag.Value.
func ExampleSpec_Set() {
	fs := flag.NewFlagSet("service", flag.ContinueOnError)
	var s spec.Spec
	fs.Var(&s, "breaker", "the payments `spec`")
	if err := fs.Parse([]string{"-breaker", "consecutive(5)@open=1m,backoff=10m"}); err != nil {
		panic(err)
	}
	fmt.Println(s.Policy.Name(), s.OpenTimeout, s.Backoff.Max)
	// Output:
	// consecutive 1m0s 10m0s
}

// A Spec is a string in a config file.
func ExampleSpec_UnmarshalText() {
	var conf struct {
		Payments spec.Spec
		Search   spec.Spec
	}
	err := json.Unmarshal([]byte(`{
		"Payments": "any(consecutive(5), slow(1s, 0.5, 20, 10s))@open=30s",
		"Search":   "lastn(0.25, 20, 100)@probes=1,probe-timeout=off"
	}`), &conf)
	if err != nil {
		panic(err)
	}
	out, _ := json.Marshal(conf)
	fmt.Println(string(out))
	// Output:
	// {"Payments":"any(consecutive(5),slow(1s,0.5,20,10s))@open=30s","Search":"lastn(0.25,20,100)@probes=1,probe-timeout=off"}
}

// A list of specs, some of them names the caller defines.
func ExampleParseList() {
	items, err := spec.ParseList("consecutive(10),rate@open=30s,probes=1,lastn(0.25,20,100)", []string{"rate"})
	if err != nil {
		panic(err)
	}
	for _, it := range items {
		fmt.Printf("%q ref=%q spec=%q\n", it.Text, it.Ref, it.Spec)
	}
	// Output:
	// "consecutive(10)" ref="" spec="consecutive(10)"
	// "rate@open=30s,probes=1" ref="rate" spec="@open=30s,probes=1"
	// "lastn(0.25,20,100)" ref="" spec="lastn(0.25,20,100)"
}

// A line carries the live spec and shadow candidates that run beside it,
// observe-only: the breaker reports what each would have done.
func ExampleParse_shadows() {
	s, err := spec.Parse("consecutive(3)@open=60s shadow consecutive(1)@open=30s shadow lastn(0.5,2,4)")
	if err != nil {
		panic(err)
	}
	fmt.Println(s)
	fmt.Println(s.Live())
	b, err := breaker.New(spec.Config[string](s))
	if err != nil {
		panic(err)
	}
	for _, sh := range b.Shadows() {
		fmt.Println(sh.Name, sh.State)
	}
	// Output:
	// consecutive(3)@open=1m shadow consecutive(1)@open=30s shadow lastn(0.5,2,4)
	// consecutive(3)@open=1m
	// consecutive(1)@open=30s closed
	// lastn(0.5,2,4) closed
}
