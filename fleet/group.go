package fleet

import (
	"sync"

	"github.com/tripwire-go/tripwire/breaker"
)

// GroupHooks returns an OnCreate and an OnEvict for a group.Config: every
// breaker the group builds is attached to co, and every breaker it evicts
// is detached, so that each key of the group is shared with the fleet
// under its breaker's name. A breaker that cannot be attached (co closed,
// or another circuit of the same name attached) works locally, and the
// coordinator's Logger says why.
//
//	hooksCreate, hooksEvict := fleet.GroupHooks[string, *http.Response](co)
//	g, err := group.New(group.Config[string, *http.Response]{
//		New: ..., OnCreate: hooksCreate, OnEvict: hooksEvict,
//	})
func GroupHooks[K comparable, T any](co *Coordinator) (onCreate, onEvict func(key K, b *breaker.Breaker[T])) {
	var mu sync.Mutex
	detach := map[*breaker.Breaker[T]]func(){}
	onCreate = func(_ K, b *breaker.Breaker[T]) {
		d, err := co.Attach(b)
		if err != nil {
			co.log.Warn("fleet: a group's breaker works locally", "circuit", b.Name(), "err", err)
			return
		}
		mu.Lock()
		detach[b] = d
		mu.Unlock()
	}
	onEvict = func(_ K, b *breaker.Breaker[T]) {
		mu.Lock()
		d := detach[b]
		delete(detach, b)
		mu.Unlock()
		if d != nil {
			d()
		}
	}
	return onCreate, onEvict
}
