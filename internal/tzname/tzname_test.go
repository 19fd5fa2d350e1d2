package tzname

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestWindowsZonesResolve(t *testing.T) {
	for win, iana := range windowsZones {
		loc := Resolve(win)
		require.NotNil(t, loc, "%s → %s", win, iana)
		if iana != "UTC" {
			require.Equal(t, iana, loc.String())
		}
		require.Equal(t, loc, Resolve(strings.ToUpper(win)), "case does not matter")
	}
	require.Nil(t, Resolve("Customized Time Zone"))
	require.Nil(t, Resolve("Local"))
	require.Nil(t, Resolve(""))
	require.Equal(t, time.UTC, Resolve("tzone://Microsoft/Utc"))
	require.Equal(t, "Europe/Paris", Resolve("Europe/Paris").String())
}
