package group_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/group"
	"github.com/tripwire-go/tripwire/policy"
)

// A group that keeps one host closed: when every host fails, the last one
// asked to open is kept closed, and the group says why.
func ExampleGroup_KeptClosed() {
	hosts, _ := group.New(group.Config[string, int]{
		New: func(string) breaker.Config[int] {
			return breaker.Config[int]{Policy: policy.Consecutive(1)}
		},
		KeepOneClosed: true,
	})
	down := errors.New("connection refused")
	for _, h := range []string{"a", "b", "c"} {
		hosts.Get(h) // the group knows all three
	}
	for _, h := range []string{"a", "b", "c"} {
		hosts.Execute(context.Background(), h, func(context.Context) (int, error) { return 0, down })
	}
	open, limit := hosts.OpenLimit()
	fmt.Printf("%d of 3 open, at most %d\n", open, limit)
	for _, k := range hosts.KeptClosed() {
		fmt.Printf("%s kept closed: its %s asked, %d of %d keys open\n", k.Key, k.By, k.Open, k.Keys)
	}
	// Output:
	// 2 of 3 open, at most 2
	// c kept closed: its policy asked, 2 of 3 keys open
}

// Outlier detection: one host of six fails 40% of its calls, its own policy
// (ten failures in a row) never trips, and the detector opens it.
func ExampleGroup_DetectOutliers() {
	clk := clock.NewMock()
	clk.Set(time.Date(2026, 12, 1, 9, 30, 0, 0, time.UTC))
	hosts, _ := group.New(group.Config[string, int]{
		New: func(string) breaker.Config[int] {
			return breaker.Config[int]{Policy: policy.Consecutive(10)}
		},
		Clock:    clk,
		Outliers: &group.Outliers{SuccessRate: &group.SuccessRateTest{}},
	})
	down := errors.New("503")
	for _, h := range []string{"a", "b", "c", "d", "e", "f"} {
		for i := range 100 {
			var err error
			if h == "f" && i%5 < 2 {
				err = down
			}
			hosts.Execute(context.Background(), h, func(context.Context) (int, error) { return 0, err })
		}
	}
	clk.Add(10 * time.Second)
	for _, o := range hosts.DetectOutliers() {
		fmt.Println(o.Key, o)
	}
	b, _ := hosts.Get("f")
	fmt.Println("f is", b.State())
	// Output:
	// f success-rate outlier, opened: 100 calls, 40.0% failed; threshold 35.0%, mean 6.7% over 6 keys
	// f is open
}

// A detector in shadow reports what it would open, and opens nothing: the
// way to try it on live traffic before it acts.
func ExampleOutliers_shadow() {
	clk := clock.NewMock()
	clk.Set(time.Date(2026, 12, 1, 9, 30, 0, 0, time.UTC))
	hosts, _ := group.New(group.Config[string, int]{
		New: func(string) breaker.Config[int] {
			return breaker.Config[int]{Policy: policy.Consecutive(10)}
		},
		Clock:    clk,
		Outliers: &group.Outliers{SuccessRate: &group.SuccessRateTest{}, Shadow: true},
	})
	down := errors.New("503")
	for _, h := range []string{"a", "b", "c", "d", "e", "f"} {
		for i := range 100 {
			var err error
			if h == "f" && i%5 < 2 {
				err = down
			}
			hosts.Execute(context.Background(), h, func(context.Context) (int, error) { return 0, err })
		}
	}
	clk.Add(10 * time.Second)
	for _, o := range hosts.DetectOutliers() {
		fmt.Println(o.Key, o)
	}
	b, _ := hosts.Get("f")
	fmt.Println("f is", b.State())
	fmt.Printf("%+v\n", hosts.OutlierStats())
	// Output:
	// f success-rate outlier, would open (shadow): 100 calls, 40.0% failed; threshold 35.0%, mean 6.7% over 6 keys
	// f is closed
	// {Shadow:true Evaluations:1 Found:1 Ejected:1}
}
