package activities

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/holdfast/holdfast/internal/catalog"
	"github.com/holdfast/holdfast/internal/mailitem"
	"github.com/holdfast/holdfast/internal/tree"
)

func TestSelectionFiltersMail(t *testing.T) {
	day := func(d int) time.Time { return time.Date(2024, 3, d, 12, 0, 0, 0, time.UTC) }
	msg := func(id, parent, subject, from string, received time.Time) catalog.ItemVersion {
		meta, _ := json.Marshal(mailitem.Message{From: from, Received: received})
		return catalog.ItemVersion{ItemID: id, ParentID: parent, Name: subject, Kind: mailitem.KindMessage, Meta: string(meta)}
	}
	folder := func(id, parent, name string) catalog.ItemVersion {
		return catalog.ItemVersion{ItemID: id, ParentID: parent, Name: name, Kind: mailitem.KindMailFolder}
	}
	all, err := tree.Build([]catalog.ItemVersion{
		{ItemID: "root", Name: "Mail", Kind: mailitem.KindRoot},
		folder("inbox", "root", "Inbox"), folder("sub", "inbox", "Projects"), folder("empty", "root", "Empty"),
		msg("m1", "inbox", "Budget Q1", "cfo@contoso.com", day(1)),
		msg("m2", "inbox", "Lunch", "'quote@example.com", day(10)),
		msg("m3", "sub", "Budget Q2", "pm@fabrikam.com", day(20)),
		{ItemID: "e1", ParentID: "empty", Name: "Standup", Kind: mailitem.KindEvent},
	}).Select(nil, nil)
	assert.NoError(t, err)
	ids := func(nodes []*tree.Node) []string {
		var out []string
		for _, n := range nodes {
			out = append(out, n.ItemID)
		}
		return out
	}
	assert.Len(t, Selection{}.filter(all), len(all), "no filter: everything")
	assert.Equal(t, []string{"root", "inbox", "m1", "sub", "m3"}, ids(Selection{Subject: "budget"}.filter(all)),
		"the folders on the way to what is chosen, in order")
	assert.Equal(t, []string{"root", "inbox", "m2"}, ids(Selection{Sender: "'QUOTE"}.filter(all)))
	assert.Equal(t, []string{"root", "inbox", "m2"}, ids(Selection{Since: day(5), Until: day(20)}.filter(all)),
		"until is exclusive; the event is not mail")
	assert.Empty(t, Selection{Since: day(25)}.filter(all))
}
