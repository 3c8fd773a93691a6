package console_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/console"
	"github.com/tripwire-go/tripwire/policy"
)

// A console over a registry, mounted on an admin mux, read-only (no
// Authorize). Its API says which circuit needs attention, and why.
func ExampleNew() {
	payments, _ := breaker.New(breaker.Config[string]{Name: "payments", Policy: policy.Consecutive(3)})
	search, _ := breaker.New(breaker.Config[string]{Name: "search"})
	reg := new(breaker.Registry)
	_ = reg.Add(search, payments)

	c, err := console.New(reg, console.Options{})
	if err != nil {
		panic(err)
	}
	defer c.Close()
	admin := http.NewServeMux()
	admin.Handle("/debug/tripwire/", c)

	for range 3 {
		_, _ = payments.Execute(context.Background(), func(context.Context) (string, error) {
			return "", errors.New("503 Service Unavailable")
		})
	}

	rec := httptest.NewRecorder()
	admin.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/debug/tripwire/api/circuits", nil))
	var list struct {
		Circuits []struct {
			Name, State string
			Last        *struct{ Evidence struct{ Text string } }
		}
	}
	_ = json.Unmarshal(rec.Body.Bytes(), &list)
	for _, c := range list.Circuits {
		why := "no transition yet"
		if c.Last != nil {
			why = c.Last.Evidence.Text
		}
		fmt.Printf("%s %s: %s\n", c.Name, c.State, why)
	}
	// Output:
	// payments open: consecutive: 3 failures in a row (threshold 3); last failure: 503 Service Unavailable
	// search closed: no transition yet
}
