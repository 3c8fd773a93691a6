package redisfleet

import (
	"context"
	"errors"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"
)

// checkTag refuses a prefix and a name whose keys would have an empty hash
// tag: Redis takes the tag from the first "{" to the first "}" after it,
// and hashes the whole key when that is "{}", so that the four keys of a
// circuit would fall in four slots and every script fail with CROSSSLOT
// in a Redis Cluster. That is a name that starts with "}" (under a prefix
// without "{"), or a prefix whose first "{" is followed by "}".
func checkTag(prefix, name string) error {
	k := prefix + ":{" + name + "}:"
	i := strings.IndexByte(k, '{')
	if k[i+1] != '}' {
		return nil
	}
	return errors.New("redisfleet: circuit " + strconv.Quote(name) + " under prefix " + strconv.Quote(prefix) +
		`: its keys would have an empty hash tag ("{}"), which spreads them over the slots of a Redis Cluster;` +
		` a name must not start with "}", nor a prefix hold "{}"`)
}

// reloader is what a *redis.ClusterClient offers to read again which node
// serves which slot.
type reloader interface{ ReloadState(ctx context.Context) }

// unanswered is told of the error of each step: when a node did not answer
// (a timeout, a refused or broken connection) or the cluster is down, a
// cluster client is asked to read its slot map again. go-redis learns of a
// failover from the MOVED replies of the old master, which a master that
// hangs or is cut off never sends, and otherwise only every
// ClusterStateReloadInterval (a minute by default): until then every step
// of the circuits of that master would go to it and fail. The reload runs
// in go-redis's background, coalesced, at most every 200ms.
func (s *Store) unanswered(err error) {
	r, ok := s.c.(reloader)
	if !ok || err == nil {
		return
	}
	var reply redis.Error
	if errors.As(err, &reply) && !strings.HasPrefix(reply.Error(), "CLUSTERDOWN") {
		return // the node answered: a MOVED is go-redis's to follow
	}
	r.ReloadState(context.Background())
}
