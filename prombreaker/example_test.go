package prombreaker_test

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/group"
	"github.com/tripwire-go/tripwire/internal/epochs"
	"github.com/tripwire-go/tripwire/policy"
	"github.com/tripwire-go/tripwire/prombreaker"
	"github.com/tripwire-go/tripwire/spec"
)

// Export a breaker to Prometheus. In a service, register the collector with
// prometheus.MustRegister and serve promhttp.Handler() on /metrics; here a
// registry of its own is scraped once and part of it printed.
func ExampleNewCollector() {
	b, _ := breaker.New(breaker.Config[string]{Name: "payments", CountCalls: true})
	reg := prometheus.NewRegistry()
	c, err := prombreaker.NewCollector(prombreaker.Opts{}, b)
	if err != nil {
		panic(err)
	}
	reg.MustRegister(c)

	b.Execute(context.Background(), func(context.Context) (string, error) { return "paid", nil })
	b.Execute(context.Background(), func(context.Context) (string, error) { return "", errors.New("declined") })

	// What a scrape of /metrics would read.
	rec := httptest.NewRecorder()
	promhttp.HandlerFor(reg, promhttp.HandlerOpts{}).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	for _, line := range strings.Split(rec.Body.String(), "\n") {
		if strings.HasPrefix(line, "tripwire_breaker_calls_total") || strings.HasPrefix(line, "tripwire_breaker_state{") {
			fmt.Println(line)
		}
	}
	// Output:
	// tripwire_breaker_calls_total{breaker="payments",outcome="failure"} 1
	// tripwire_breaker_calls_total{breaker="payments",outcome="ignored"} 0
	// tripwire_breaker_calls_total{breaker="payments",outcome="rejected"} 0
	// tripwire_breaker_calls_total{breaker="payments",outcome="success"} 1
	// tripwire_breaker_state{breaker="payments",state="closed"} 1
	// tripwire_breaker_state{breaker="payments",state="half-open"} 0
	// tripwire_breaker_state{breaker="payments",state="open"} 0
}

// Export every breaker of a group: each scrape covers the breakers the
// group holds at that moment, however many it created since.
func ExampleCollector_AddGroup() {
	hosts, _ := group.New(group.Config[string, string]{
		New: func(string) breaker.Config[string] {
			return breaker.Config[string]{Policy: policy.Consecutive(1)}
		},
	})
	c, _ := prombreaker.NewCollector(prombreaker.Opts{})
	c.AddGroup(hosts)
	reg := prometheus.NewRegistry()
	reg.MustRegister(c)

	hosts.Get("a.example")
	hosts.Execute(context.Background(), "b.example", func(context.Context) (string, error) {
		return "", errors.New("timeout") // the policy trips b.example's circuit
	})

	families, _ := reg.Gather()
	for _, f := range families {
		if f.GetName() != "tripwire_breaker_trips_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			fmt.Println(m.GetLabel()[0].GetValue(), m.GetCounter().GetValue())
		}
	}
	// Output:
	// a.example 0
	// b.example 1
}

// A breaker whose name is already exported is refused when it is added,
// rather than failing every scrape later.
func ExampleCollector_Add() {
	c, _ := prombreaker.NewCollector(prombreaker.Opts{})
	payments, _ := breaker.New(breaker.Config[string]{Name: "payments"})
	again, _ := breaker.New(breaker.Config[string]{Name: "payments"})
	search, _ := breaker.New(breaker.Config[string]{Name: "search"})

	err := c.Add(payments, again, search)
	fmt.Println(err)
	fmt.Println(errors.Is(err, prombreaker.ErrDuplicateName))
	// Output:
	// prombreaker: a breaker with this name is already exported: "payments"
	// true
}

// Export what a breaker's shadow candidates would have done beside what its
// live policy did: here the candidate, named by its spec, would have opened
// the circuit at the second failure in a row and rejected the third call,
// where the live policy waits for five failures.
func ExampleCollector_shadows() {
	s, err := spec.Parse("consecutive(5) shadow consecutive(2)@open=30s")
	if err != nil {
		panic(err)
	}
	cfg := spec.Config[string](s)
	cfg.Name = "payments"
	b, _ := breaker.New(cfg)
	c, _ := prombreaker.NewCollector(prombreaker.Opts{}, b)
	reg := prometheus.NewRegistry()
	reg.MustRegister(c)

	for range 3 {
		b.Execute(context.Background(), func(context.Context) (string, error) { return "", errors.New("declined") })
	}

	rec := httptest.NewRecorder()
	promhttp.HandlerFor(reg, promhttp.HandlerOpts{}).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	for _, line := range strings.Split(rec.Body.String(), "\n") {
		for _, name := range []string{"tripwire_breaker_trips_total", "tripwire_shadow_trips_total", "tripwire_shadow_would_reject_total", "tripwire_shadow_calls_total"} {
			if strings.HasPrefix(line, name+"{") {
				fmt.Println(line)
			}
		}
	}
	// Output:
	// tripwire_breaker_trips_total{breaker="payments"} 0
	// tripwire_shadow_calls_total{breaker="payments",candidate="consecutive(2)@open=30s"} 3
	// tripwire_shadow_trips_total{breaker="payments",candidate="consecutive(2)@open=30s"} 1
	// tripwire_shadow_would_reject_total{breaker="payments",candidate="consecutive(2)@open=30s"} 1
}

// Export a group's outlier detector, here trialled in shadow, under a name
// of your choice: its would-be ejections, which opened nothing.
func ExampleCollector_AddOutliers() {
	clk := epochs.Mock(epochs.Today) // in a service: leave Clock unset
	hosts, _ := group.New(group.Config[string, string]{
		New: func(string) breaker.Config[string] {
			return breaker.Config[string]{Policy: policy.Consecutive(10)}
		},
		Clock:    clk,
		Outliers: &group.Outliers{SuccessRate: &group.SuccessRateTest{}, Shadow: true},
	})
	c, _ := prombreaker.NewCollector(prombreaker.Opts{})
	c.AddGroup(hosts)
	if err := c.AddOutliers("hosts", hosts); err != nil {
		panic(err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(c)

	// Six hosts; f fails 40% of its calls, the others none.
	for _, h := range []string{"a", "b", "c", "d", "e", "f"} {
		for i := range 100 {
			var err error
			if h == "f" && i%5 < 2 {
				err = errors.New("503")
			}
			hosts.Execute(context.Background(), h, func(context.Context) (string, error) { return "", err })
		}
	}
	clk.Add(10 * time.Second)
	hosts.DetectOutliers()

	mfs, _ := reg.Gather()
	for _, mf := range mfs {
		if strings.HasPrefix(mf.GetName(), "tripwire_group_outlier_") {
			m := mf.GetMetric()[0]
			fmt.Println(mf.GetName(), m.GetLabel()[0].GetValue(), m.GetCounter().GetValue()+m.GetGauge().GetValue())
		}
	}
	b, _ := hosts.Get("f")
	fmt.Println("f is", b.State())
	// Output:
	// tripwire_group_outlier_ejected_total hosts 1
	// tripwire_group_outlier_evaluations_total hosts 1
	// tripwire_group_outlier_found_total hosts 1
	// tripwire_group_outlier_shadow hosts 1
	// f is closed
}
