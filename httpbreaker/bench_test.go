package httpbreaker_test

import (
	"net/http"
	"testing"

	"github.com/tripwire-go/tripwire/breaker"
	"github.com/tripwire-go/tripwire/group"
	"github.com/tripwire-go/tripwire/httpbreaker"
)

// nopTransport answers every request with the same response, sending
// nothing.
type nopTransport struct{ res *http.Response }

func (t nopTransport) RoundTrip(*http.Request) (*http.Response, error) { return t.res, nil }

// BenchmarkHostTransport measures what HostTransport adds to a request:
// the group lookup and the breaker, over a base transport that sends
// nothing.
func BenchmarkHostTransport(b *testing.B) {
	for _, state := range []string{"closed", "open"} {
		g, err := group.New(group.Config[string, *http.Response]{
			New: func(string) breaker.Config[*http.Response] { return breaker.Config[*http.Response]{} },
		})
		if err != nil {
			b.Fatal(err)
		}
		tr := &httpbreaker.HostTransport{Group: g, Base: nopTransport{&http.Response{StatusCode: 200}}}
		req, _ := http.NewRequest(http.MethodGet, "http://inventory.internal/items", nil)
		if state == "open" {
			br, _ := g.Get(req.URL.Host)
			br.Trip()
		}
		b.Run("state="+state, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				tr.RoundTrip(req)
			}
		})
		b.Run("state="+state+"/parallel", func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					tr.RoundTrip(req)
				}
			})
		})
	}
}
