package breaker

// Clock returns the clock the breaker reads: Config.Clock, or the real
// clock when that was nil. Code that works beside a breaker and needs the
// time on the breaker's clock, such as a Retry-After computed from an
// [OpenError], reads it here rather than being configured with the same
// clock a second time.
func (b *Breaker[T]) Clock() Clock { return b.clock }
