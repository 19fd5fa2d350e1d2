package keys

// Keyring holds a tenant's data-key generations: Current for writing, all of
// them by ID for reading packs sealed by older generations. It is immutable
// and safe for concurrent use.
type Keyring struct {
	current *TenantKeys
	byID    map[string]*TenantKeys
}

// NewKeyring builds a keyring; current is also readable by its ID. Nil
// entries are ignored; a later duplicate ID does not replace current.
func NewKeyring(current *TenantKeys, older ...*TenantKeys) *Keyring {
	r := &Keyring{current: current, byID: make(map[string]*TenantKeys, 1+len(older))}
	for _, k := range older {
		if k != nil {
			r.byID[k.KeyID()] = k
		}
	}
	if current != nil {
		r.byID[current.KeyID()] = current
	}
	return r
}

// Current is the generation new data is sealed with.
func (r *Keyring) Current() *TenantKeys { return r.current }

// Get returns the generation with the given key ID.
func (r *Keyring) Get(id string) (*TenantKeys, bool) {
	k, ok := r.byID[id]
	return k, ok
}

// Destroy zeroes every generation in the ring.
func (r *Keyring) Destroy() {
	for _, k := range r.byID {
		k.Destroy()
	}
}
