package export

import (
	"bufio"
	"bytes"
	"io"
	"net/mail"
	"strings"
	"time"
)

// WriteMbox appends one message to an mbox in the mboxrd form: a "From " line with the envelope
// sender and the date in asctime form (UTC), the message with every line matching ^>*From
// given one more '>', and a blank line.
//
// mbox is a Unix format: lines end in LF, so the message's CRLFs become LFs (readers turn them
// back; the exact bytes are what the .eml beside it is for). An empty or unusable envelopeFrom
// falls back to the message's Return-Path, then From, then MAILER-DAEMON; a zero date to its
// Date header, then the Unix epoch.
func WriteMbox(w io.Writer, envelopeFrom string, date time.Time, mime []byte) error {
	sender := envelopeAddr(envelopeFrom)
	if sender == "" || date.IsZero() {
		hs, hd := headerSenderDate(mime)
		if sender == "" {
			sender = hs
		}
		if date.IsZero() {
			date = hd
		}
	}
	if sender == "" {
		sender = "MAILER-DAEMON"
	}
	if date.IsZero() {
		date = time.Unix(0, 0)
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	bw.WriteString("From " + sender + " " + date.UTC().Format(time.ANSIC) + "\n")
	for len(mime) > 0 {
		var line []byte
		if i := bytes.IndexByte(mime, '\n'); i >= 0 {
			line, mime = mime[:i], mime[i+1:]
		} else {
			line, mime = mime, nil
		}
		line = bytes.TrimSuffix(line, []byte{'\r'})
		if isFromLine(line) {
			bw.WriteByte('>')
		}
		bw.Write(line)
		bw.WriteByte('\n')
	}
	bw.WriteByte('\n')
	return bw.Flush()
}

// isFromLine reports whether line matches ^>*From (mboxrd quotes those).
func isFromLine(line []byte) bool {
	return bytes.HasPrefix(bytes.TrimLeft(line, ">"), []byte("From "))
}

// envelopeAddr cleans an envelope sender for the "From " line: no angle brackets, one word.
func envelopeAddr(s string) string {
	s = strings.TrimSpace(s)
	if a, err := mail.ParseAddress(s); err == nil {
		s = a.Address
	}
	s = strings.TrimSuffix(strings.TrimPrefix(s, "<"), ">")
	if s == "" || strings.ContainsFunc(s, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return ""
	}
	return s
}

// headerSenderDate reads Return-Path (else From) and Date from a message's header.
func headerSenderDate(mime []byte) (string, time.Time) {
	m, err := mail.ReadMessage(bytes.NewReader(mime))
	if err != nil {
		return "", time.Time{}
	}
	sender := envelopeAddr(m.Header.Get("Return-Path"))
	if sender == "" {
		if list, err := m.Header.AddressList("From"); err == nil && len(list) > 0 {
			sender = envelopeAddr(list[0].Address)
		}
	}
	d, _ := m.Header.Date()
	return sender, d
}
