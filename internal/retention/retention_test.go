package retention

import (
	"crypto/rand"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/holdfast/holdfast/internal/catalog"
)

var now = time.Date(2033, 6, 1, 12, 0, 0, 0, time.UTC)

const day = 24 * time.Hour

func snap(id int64, state string, age time.Duration) Snapshot {
	return Snapshot{ID: id, State: state, Taken: now.Add(-age)}
}

func expired(p Plan) []int64 {
	var out []int64
	for _, e := range p.Expire {
		out = append(out, e.SnapshotID)
	}
	return out
}

func TestDecide(t *testing.T) {
	seven := catalog.OneDriveRetention
	cases := []struct {
		name   string
		ua     UserApp
		expire []int64
		check  func(t *testing.T, p Plan)
	}{
		{name: "past retention expires, the newest of an active user-app stays",
			ua: UserApp{Active: true, Retention: seven, NewestComplete: 3, NewestUsable: 3, Snapshots: []Snapshot{
				snap(1, catalog.StateComplete, 8*365*day), snap(2, catalog.StateComplete, 8*365*day), snap(3, catalog.StateComplete, 8*365*day)}},
			expire: []int64{1, 2},
			check:  func(t *testing.T, p Plan) { assert.Equal(t, 1, p.KeptNewest) }},
		{name: "within retention stays",
			ua: UserApp{Active: true, Retention: seven, NewestComplete: 2, NewestUsable: 2, Snapshots: []Snapshot{
				snap(1, catalog.StateComplete, 6*365*day), snap(2, catalog.StateComplete, day)}},
			check: func(t *testing.T, p Plan) { assert.Equal(t, 2, p.KeptYoung) }},
		{name: "legal hold keeps everything",
			ua: UserApp{Active: true, Held: true, Retention: 30 * day, NewestComplete: 2, NewestUsable: 2, Snapshots: []Snapshot{
				snap(1, catalog.StateComplete, 400*day), snap(2, catalog.StateComplete, 300*day), snap(5, catalog.StateFailed, 300*day)}},
			check: func(t *testing.T, p Plan) { assert.Equal(t, 3, p.KeptHeld) }},
		{name: "held and deleted: still kept",
			ua: UserApp{Active: false, Held: true, Retention: 30 * day, NewestComplete: 2, NewestUsable: 2, Snapshots: []Snapshot{
				snap(2, catalog.StateComplete, 300*day)}},
			check: func(t *testing.T, p Plan) { assert.Equal(t, 1, p.KeptHeld) }},
		{name: "a deleted user's data expires, newest included",
			ua: UserApp{Active: false, Retention: 30 * day, NewestComplete: 2, NewestUsable: 2, Snapshots: []Snapshot{
				snap(1, catalog.StateComplete, 90*day), snap(2, catalog.StateComplete, 31*day)}},
			expire: []int64{1, 2}},
		{name: "a partial newest and the newest complete both stay",
			ua: UserApp{Active: true, Retention: 30 * day, NewestComplete: 2, NewestUsable: 3, Snapshots: []Snapshot{
				snap(1, catalog.StateComplete, 90*day), snap(2, catalog.StateComplete, 80*day), snap(3, catalog.StatePartial, 70*day)}},
			expire: []int64{1},
			check:  func(t *testing.T, p Plan) { assert.Equal(t, 2, p.KeptNewest) }},
		{name: "failed snapshots expire by age and never count as newest",
			ua: UserApp{Active: true, Retention: 30 * day, NewestComplete: 1, NewestUsable: 1, Snapshots: []Snapshot{
				snap(1, catalog.StateComplete, 90*day), snap(2, catalog.StateFailed, 80*day), snap(3, catalog.StateFailed, 2*day)}},
			expire: []int64{2},
			check: func(t *testing.T, p Plan) {
				require.Len(t, p.Expire, 1)
				assert.Contains(t, p.Expire[0].Reason, "failed")
			}},
		{name: "running never expires",
			ua:    UserApp{Active: false, Retention: 30 * day, Snapshots: []Snapshot{snap(9, catalog.StateRunning, 90*day)}},
			check: func(t *testing.T, p Plan) { assert.Equal(t, 1, p.KeptRunning) }},
		{name: "no profile: the default retention",
			ua: UserApp{Active: true, Retention: 0, NewestComplete: 3, NewestUsable: 3, Snapshots: []Snapshot{
				snap(1, catalog.StateComplete, catalog.DefaultRetention+day), snap(2, catalog.StateComplete, catalog.DefaultRetention-day),
				snap(3, catalog.StateComplete, day)}},
			expire: []int64{1}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.ua.UserID, c.ua.App = "u", "onedrive"
			p := Decide(now, []UserApp{c.ua})
			assert.Equal(t, c.expire, expired(p))
			assert.Equal(t, len(c.ua.Snapshots), p.Examined)
			assert.Equal(t, p.Examined, len(p.Expire)+p.Kept())
			for _, e := range p.Expire {
				assert.Equal(t, "u", e.UserID)
				assert.Equal(t, "onedrive", e.App)
				assert.NotEmpty(t, e.Reason)
			}
			if c.check != nil {
				c.check(t, p)
			}
		})
	}
}

func TestDecidePerAppRetention(t *testing.T) {
	// One user, two apps: Exchange kept 30 days by the profile, OneDrive
	// fixed at 7 years. The same ages give different answers.
	mk := func(app string, keep time.Duration) UserApp {
		return UserApp{UserID: "u", App: app, Active: true, Retention: keep, NewestComplete: 4, NewestUsable: 4, Snapshots: []Snapshot{
			snap(1, catalog.StateComplete, 400*day), snap(2, catalog.StateComplete, 40*day), snap(3, catalog.StateComplete, 10*day),
			snap(4, catalog.StateComplete, 40*day)}}
	}
	p := Decide(now, []UserApp{mk("exchange", 30*day), mk("onedrive", catalog.OneDriveRetention)})
	require.Len(t, p.Expire, 2)
	for _, e := range p.Expire {
		assert.Equal(t, "exchange", e.App)
		assert.Contains(t, e.Reason, "30 days")
	}
	assert.Equal(t, []int64{1, 2}, expired(p))
	assert.Equal(t, 1, p.KeptNewest)
}

func TestDecideIsDeterministic(t *testing.T) {
	ua := []UserApp{{UserID: "a", App: "onedrive", Retention: day, Snapshots: []Snapshot{snap(1, catalog.StateComplete, 2*day), snap(2, catalog.StateFailed, 3*day)}},
		{UserID: "b", App: "onedrive", Retention: day, Snapshots: []Snapshot{snap(3, catalog.StatePartial, 2*day)}}}
	first := Decide(now, ua)
	for range 10 {
		assert.Equal(t, first, Decide(now, ua))
	}
	assert.Equal(t, []int64{1, 2, 3}, expired(first), "input order")
}

func TestChunkSet(t *testing.T) {
	const n = 20000
	set := NewChunkSet(n)
	ids := make([][32]byte, n)
	for i := range ids {
		rand.Read(ids[i][:])
		set.Add(ids[i][:])
	}
	for i := range ids {
		require.True(t, set.Has(ids[i][:]), "no false negatives, ever")
	}
	fp := 0
	const probes = 100000
	for range probes {
		var id [32]byte
		rand.Read(id[:])
		if set.Has(id[:]) {
			fp++
		}
	}
	assert.Less(t, float64(fp)/probes, 0.005, "false positives ≈ 0.1%% at the expected size")
	assert.Less(t, set.FalsePositiveRate(), 0.005)
	assert.EqualValues(t, n, set.Added())

	// Overfilled, it still never forgets.
	small := NewChunkSet(10)
	for i := range ids {
		small.Add(ids[i][:])
	}
	for i := range ids {
		require.True(t, small.Has(ids[i][:]))
	}
}
