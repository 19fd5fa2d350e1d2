package export

import (
	"bufio"
	"errors"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/html"
)

// Content lines of iCalendar (RFC 5545 §3.1) and vCard (RFC 2425 §5.8.1, RFC 6350 §3.2) end in
// CRLF and are folded so that no physical line is longer than 75 octets: a fold is CRLF followed
// by one space, and never splits a UTF-8 sequence.
const maxLineOctets = 75

// foldWriter folds the content lines written to it. Whole lines (ending in CRLF) may come in any
// number of Writes; Close reports a last line left without its CRLF.
type foldWriter struct {
	w    *bufio.Writer
	line []byte
}

func newFoldWriter(w io.Writer) *foldWriter {
	return &foldWriter{w: bufio.NewWriter(w)}
}

func (f *foldWriter) Write(p []byte) (int, error) {
	for i := 0; i < len(p); {
		j := indexCRLF(p[i:], len(f.line) > 0 && f.line[len(f.line)-1] == '\r')
		if j < 0 {
			f.line = append(f.line, p[i:]...)
			break
		}
		f.line = append(f.line, p[i:i+j]...)
		i += j
		if err := f.emit(); err != nil {
			return i, err
		}
	}
	return len(p), nil
}

// indexCRLF returns the length of p up to and including the first CRLF (which may start in the
// previous Write when crPending), or -1.
func indexCRLF(p []byte, crPending bool) int {
	if crPending && len(p) > 0 && p[0] == '\n' {
		return 1
	}
	for i := 0; i+1 < len(p); i++ {
		if p[i] == '\r' && p[i+1] == '\n' {
			return i + 2
		}
	}
	return -1
}

// emit writes f.line (which ends in CRLF) folded.
func (f *foldWriter) emit() error {
	line := f.line[:len(f.line)-2]
	limit := maxLineOctets
	for {
		if len(line) <= limit {
			f.w.Write(line)
			break
		}
		cut := limit
		for cut > 0 && !utf8.RuneStart(line[cut]) {
			cut--
		}
		f.w.Write(line[:cut])
		f.w.WriteString("\r\n ")
		line = line[cut:]
		limit = maxLineOctets - 1 // the leading space counts
	}
	_, err := f.w.WriteString("\r\n")
	f.line = f.line[:0]
	return err
}

// Close flushes what was written.
func (f *foldWriter) Close() error {
	if len(f.line) > 0 {
		return errors.New("export: content line without CRLF")
	}
	return f.w.Flush()
}

// cleanText prepares a TEXT value: valid UTF-8, LF line breaks, no control characters other than
// LF and TAB (RFC 5545 §3.3.11 and RFC 6350 §3.3 allow no others).
func cleanText(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	return strings.Map(func(r rune) rune {
		if r == '\n' || r == '\t' {
			return r
		}
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, s)
}

// cleanParam prepares a parameter value (CN=…): one line, no DQUOTE (a quoted parameter value
// cannot hold one), no control characters.
func cleanParam(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		switch {
		case r == '"':
			return '\''
		case r == '\n' || r == '\r' || r == '\t':
			return ' '
		case r < 0x20 || r == 0x7f:
			return -1
		}
		return r
	}, s)
	return strings.TrimSpace(s)
}

// htmlToText renders an HTML body as plain text: scripts, styles and the head are dropped, block
// elements and <br> become line breaks, list items get "- ", table cells are separated by tabs,
// links keep their target ("text <https://…>"), white space is collapsed as a browser would
// (except in <pre>), and at most one blank line separates paragraphs.
func htmlToText(s string) string {
	z := html.NewTokenizer(strings.NewReader(s))
	var b strings.Builder
	skip, pre := 0, 0
	type link struct {
		href  string
		start int
	}
	var links []link
	newline := func() {
		if b.Len() > 0 && !strings.HasSuffix(b.String(), "\n") {
			b.WriteByte('\n')
		}
	}
	for {
		tt := z.Next()
		if tt == html.ErrorToken {
			break
		}
		tok := z.Token()
		switch tt {
		case html.TextToken:
			if skip > 0 {
				continue
			}
			text := strings.ReplaceAll(tok.Data, "\u00a0", " ")
			if pre > 0 {
				b.WriteString(text)
				continue
			}
			text = collapseSpace(text)
			if b.Len() == 0 || strings.HasSuffix(b.String(), "\n") || strings.HasSuffix(b.String(), " ") || strings.HasSuffix(b.String(), "\t") {
				text = strings.TrimLeft(text, " ")
			}
			b.WriteString(text)
		case html.StartTagToken, html.SelfClosingTagToken, html.EndTagToken:
			start := tt != html.EndTagToken
			switch tok.Data {
			case "head", "style", "script", "title", "xml", "template", "noscript":
				if tt == html.StartTagToken {
					skip++
				} else if tt == html.EndTagToken && skip > 0 {
					skip--
				}
			case "br":
				if skip == 0 {
					b.WriteByte('\n')
				}
			case "pre":
				newline()
				if tt == html.StartTagToken {
					pre++
				} else if tt == html.EndTagToken && pre > 0 {
					pre--
				}
			case "li":
				newline()
				if start {
					b.WriteString("- ")
				}
			case "td", "th":
				if start && b.Len() > 0 && !strings.HasSuffix(b.String(), "\n") {
					b.WriteByte('\t')
				}
			case "a":
				if tt == html.StartTagToken {
					href := ""
					for _, a := range tok.Attr {
						if a.Key == "href" {
							href = strings.TrimSpace(a.Val)
						}
					}
					links = append(links, link{href, b.Len()})
				} else if tt == html.EndTagToken && len(links) > 0 {
					l := links[len(links)-1]
					links = links[:len(links)-1]
					text := strings.TrimSpace(b.String()[l.start:])
					target := strings.TrimPrefix(l.href, "mailto:")
					low := strings.ToLower(l.href)
					if (strings.HasPrefix(low, "http://") || strings.HasPrefix(low, "https://") || strings.HasPrefix(low, "mailto:")) &&
						text != "" && text != l.href && text != target {
						b.WriteString(" <" + target + ">")
					}
				}
			case "p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "dl", "dt", "dd", "table", "tr",
				"blockquote", "hr", "section", "article", "header", "footer", "address", "center", "body":
				newline()
			}
		}
	}
	// Tidy: no spaces at line ends, at most one blank line in a row, none around the text.
	lines := strings.Split(b.String(), "\n")
	out := make([]string, 0, len(lines))
	blank := 0
	for _, l := range lines {
		l = strings.TrimRight(l, " \t")
		if strings.TrimSpace(l) == "" {
			blank++
			if blank > 1 {
				continue
			}
			l = ""
		} else {
			blank = 0
		}
		out = append(out, l)
	}
	return strings.TrimSpace(strings.Join(out, "\n"))
}

// collapseSpace turns every run of white space into one space.
func collapseSpace(s string) string {
	var b strings.Builder
	space := false
	for _, r := range s {
		if unicode.IsSpace(r) {
			if !space {
				b.WriteByte(' ')
			}
			space = true
			continue
		}
		space = false
		b.WriteRune(r)
	}
	return b.String()
}

// bodyText is an item body ({contentType, content}) as plain text.
func bodyText(contentType, content string) string {
	if strings.EqualFold(contentType, "html") {
		return htmlToText(content)
	}
	return strings.TrimSpace(cleanText(content))
}
