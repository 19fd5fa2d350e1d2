package export

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// readMboxrd is an independent mboxrd reader: messages start at "From " lines, the blank line
// before the next one ends a message, and one '>' is taken off lines matching ^>+From .
func readMboxrd(t *testing.T, data string) (froms []string, msgs []string) {
	t.Helper()
	require.True(t, strings.HasPrefix(data, "From "), "an mbox starts with a From line")
	quoted := regexp.MustCompile(`^>+From `)
	var cur []string
	flush := func() {
		if cur == nil {
			return
		}
		require.Equal(t, "", cur[len(cur)-1], "a blank line ends each message")
		msgs = append(msgs, strings.Join(cur[:len(cur)-1], "\n"))
	}
	lines := strings.Split(strings.TrimSuffix(data, "\n"), "\n")
	for _, l := range lines {
		switch {
		case strings.HasPrefix(l, "From "):
			flush()
			froms = append(froms, l)
			cur = []string{}
		case quoted.MatchString(l):
			cur = append(cur, l[1:])
		default:
			cur = append(cur, l)
		}
	}
	flush()
	return froms, msgs
}

func TestMboxEscaping(t *testing.T) {
	first := "Return-Path: <bounce@example.com>\r\nFrom: Adele <adele@contoso.com>\r\nTo: b@contoso.com\r\nSubject: From lines\r\n" +
		"Date: Mon, 03 Feb 2025 08:00:00 +0000\r\n\r\n" +
		"From me\r\n>From you\r\n>>From them\r\nFrom: looks like a header, is not quoted\r\nFromage\r\n From indented\r\nfrom lower case\r\n\r\nbye\r\n"
	second := "From: x@example.com\nSubject: no final newline\n\nFrom the end"
	var b bytes.Buffer
	date := time.Date(2025, 2, 3, 8, 0, 0, 0, time.FixedZone("X", 3600))
	require.NoError(t, WriteMbox(&b, "adele@contoso.com", date, []byte(first)))
	require.NoError(t, WriteMbox(&b, "<x@example.com>", time.Date(2025, 12, 24, 23, 5, 9, 0, time.UTC), []byte(second)))
	out := b.String()

	require.NotContains(t, out, "\r", "mbox lines end in LF")
	require.Contains(t, out, "\n>From me\n")
	require.Contains(t, out, "\n>>From you\n")
	require.Contains(t, out, "\n>>>From them\n")
	require.Contains(t, out, "\nFrom: looks like a header, is not quoted\n", `"From:" does not match ^>*From `)
	require.Contains(t, out, "\nFromage\n")
	require.Contains(t, out, "\n From indented\n")
	require.Contains(t, out, "\n>From the end\n\n")

	froms, msgs := readMboxrd(t, out)
	require.Equal(t, []string{"From adele@contoso.com Mon Feb  3 07:00:00 2025", "From x@example.com Wed Dec 24 23:05:09 2025"}, froms,
		"envelope sender and asctime date in UTC")
	require.Equal(t, []string{strings.ReplaceAll(strings.TrimSuffix(first, "\r\n"), "\r\n", "\n"), second}, msgs, "messages read back")
}

func TestMboxFallbacks(t *testing.T) {
	msg := "Return-Path: <bounce@example.com>\r\nFrom: Adele <adele@contoso.com>\r\nDate: Tue, 04 Feb 2025 10:30:00 -0500\r\n\r\nbody\r\n"
	var b bytes.Buffer
	require.NoError(t, WriteMbox(&b, "", time.Time{}, []byte(msg)))
	require.True(t, strings.HasPrefix(b.String(), "From bounce@example.com Tue Feb  4 15:30:00 2025\n"), b.String())

	b.Reset()
	require.NoError(t, WriteMbox(&b, "not an address with spaces", time.Time{}, []byte("From: Adele <adele@contoso.com>\r\n\r\nbody\r\n")))
	require.True(t, strings.HasPrefix(b.String(), "From adele@contoso.com Thu Jan  1 00:00:00 1970\n"), b.String())

	b.Reset()
	require.NoError(t, WriteMbox(&b, "", time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), []byte("not a message")))
	require.Equal(t, "From MAILER-DAEMON Wed Jan  1 00:00:00 2025\nnot a message\n\n", b.String())

	b.Reset()
	require.NoError(t, WriteMbox(&b, "Adele Vance <adele@contoso.com>", time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), nil))
	require.Equal(t, "From adele@contoso.com Wed Jan  1 00:00:00 2025\n\n", b.String(), "an empty message")
}
