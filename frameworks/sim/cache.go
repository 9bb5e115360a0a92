package sim

import "container/list"

// prefixCache remembers prompt blocks by the hash of the block and everything before it,
// so a block matches only when the whole prefix up to it matches. Least recently used
// blocks are evicted first.
type prefixCache struct {
	blockSize int
	capacity  int
	lru       *list.List // of uint64 keys, front = most recent
	blocks    map[uint64]*list.Element
}

func newPrefixCache(blockSize, capacity int) *prefixCache {
	return &prefixCache{blockSize: blockSize, capacity: capacity, lru: list.New(), blocks: map[uint64]*list.Element{}}
}

// blockKeys returns the chained key of every full block of ids.
func (c *prefixCache) blockKeys(ids []uint64) []uint64 {
	keys := make([]uint64, 0, len(ids)/c.blockSize)
	h := uint64(fnvOffset)
	for i := 0; i+c.blockSize <= len(ids); i += c.blockSize {
		for _, id := range ids[i : i+c.blockSize] {
			h ^= id
			h *= 1099511628211
		}
		keys = append(keys, h)
	}
	return keys
}

// match returns how many leading tokens of the prompt are cached. As in vLLM, the last
// prompt token is always computed, so a fully cached prompt still prefills one block.
func (c *prefixCache) match(keys []uint64, promptLen int) int {
	n := 0
	for _, k := range keys {
		e, ok := c.blocks[k]
		if !ok {
			break
		}
		c.lru.MoveToFront(e)
		n++
	}
	if n*c.blockSize >= promptLen {
		n = (promptLen - 1) / c.blockSize
	}
	return n * c.blockSize
}

// insert stores the blocks, evicting the least recently used beyond capacity.
func (c *prefixCache) insert(keys []uint64) {
	for _, k := range keys {
		if e, ok := c.blocks[k]; ok {
			c.lru.MoveToFront(e)
			continue
		}
		c.blocks[k] = c.lru.PushFront(k)
		for c.lru.Len() > c.capacity {
			old := c.lru.Back()
			c.lru.Remove(old)
			delete(c.blocks, old.Value.(uint64))
		}
	}
}

// reset empties the cache.
func (c *prefixCache) reset() {
	c.lru.Init()
	clear(c.blocks)
}
