package httpbreaker_test

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/group"
	"github.com/tripwire-go/tripwire/httpbreaker"
	"github.com/tripwire-go/tripwire/policy"
)

// A client that stops calling a server after two failures in a row, and
// tells its caller when to try again.
func ExampleTransport() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "database down", http.StatusInternalServerError)
	}))
	defer srv.Close()

	b, _ := breaker.New(breaker.Config[*http.Response]{
		Name:        "inventory",
		Policy:      policy.Consecutive(2),
		OpenTimeout: 30 * time.Second,
	})
	client := &http.Client{Transport: &httpbreaker.Transport{Breaker: b}}

	for range 3 {
		res, err := client.Get(srv.URL)
		var oe *breaker.OpenError
		switch {
		case errors.As(err, &oe):
			fmt.Printf("not sent; retry in about %v\n", oe.RetryAfter(time.Now()).Round(time.Minute/2))
		case err != nil:
			fmt.Println("error:", err)
		default:
			// A failing response still comes back whole.
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			fmt.Printf("%d %s", res.StatusCode, body)
		}
	}
	// Output:
	// 500 database down
	// 500 database down
	// not sent; retry in about 30s
}

// A server that answers 503 with Retry-After while its breaker is open.
func ExampleMiddleware() {
	b, _ := breaker.New(breaker.Config[int]{Name: "api", OpenTimeout: 10 * time.Second})
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "hello\n")
	})
	srv := httptest.NewServer(httpbreaker.Middleware(b)(mux))
	defer srv.Close()

	show := func() {
		res, err := http.Get(srv.URL)
		if err != nil {
			fmt.Println(err)
			return
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		fmt.Printf("%s Retry-After=%q %s", res.Status, res.Header.Get("Retry-After"), body)
	}
	show()
	b.Trip() // as the policy would after enough failures
	show()
	// Output:
	// 200 OK Retry-After="" hello
	// 503 Service Unavailable Retry-After="10" Service Unavailable
}

// One breaker per host: the host that answers 503 has its circuit opened
// after three in a row, and the healthy host goes on being called. (An
// Execute around http.Client.Do would never trip here: Do returns a 503
// with a nil error.)
func ExampleHostTransport() {
	sick := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "overloaded", http.StatusServiceUnavailable)
	}))
	defer sick.Close()
	well := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok\n")
	}))
	defer well.Close()

	hosts, _ := group.New(group.Config[string, *http.Response]{
		New: func(host string) breaker.Config[*http.Response] {
			// Called for each new host: a fresh Policy every time.
			return breaker.Config[*http.Response]{Policy: policy.Consecutive(3), OpenTimeout: 30 * time.Second}
		},
	})
	client := &http.Client{Transport: &httpbreaker.HostTransport{Group: hosts}}

	call := func(name, url string) {
		res, err := client.Get(url)
		if d, ok := breaker.RetryAfter(err, time.Now()); ok {
			fmt.Printf("%s: not sent; retry in about %v\n", name, d.Round(time.Minute/2))
			return
		}
		if err != nil {
			fmt.Println(name+":", err)
			return
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		fmt.Printf("%s: %s\n", name, res.Status)
	}
	for range 4 {
		call("sick", sick.URL)
	}
	call("well", well.URL)
	// Output:
	// sick: 503 Service Unavailable
	// sick: 503 Service Unavailable
	// sick: 503 Service Unavailable
	// sick: not sent; retry in about 30s
	// well: 200 OK
}
