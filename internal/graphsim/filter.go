package graphsim

import (
	"net/http"
	"strconv"
	"strings"
)

// A small OData $filter subset for users:
//
//	expr   := term { "or" term }
//	term   := factor { "and" factor }
//	factor := "(" expr ")" | "not" factor | prop ("eq"|"ne") literal
//	        | prop "in" "(" literal {"," literal} ")" | "startswith(" prop "," literal ")"
//	literal:= 'string' (with '' for a quote) | true | false | null
//
// String comparisons are case-insensitive, as Entra ID's are for these properties.

type userPred = pred[*user]

// pred is a compiled $filter.
type pred[T any] func(T) bool

var filterProps = map[string]func(*user) string{
	"id":                func(u *user) string { return u.id },
	"userprincipalname": func(u *user) string { return u.upn },
	"mail":              func(u *user) string { return u.mail },
	"displayname":       func(u *user) string { return u.displayName },
	"givenname":         func(u *user) string { return u.givenName },
	"surname":           func(u *user) string { return u.surname },
	"jobtitle":          func(u *user) string { return u.jobTitle },
	"officelocation":    func(u *user) string { return u.officeLocation },
	"usagelocation":     func(u *user) string { return u.usageLocation },
	"mailnickname":      func(u *user) string { return strings.SplitN(u.upn, "@", 2)[0] },
	"accountenabled":    func(u *user) string { return strings.ToLower(strconv.FormatBool(u.accountEnabled)) },
	"department":        func(u *user) string { return u.department },
	"usertype":          func(u *user) string { return "Member" },
}

type filterParser[T any] struct {
	toks  []string
	pos   int
	props map[string]func(T) string
}

func errFilter(msg string) *apiError {
	return newAPIError(http.StatusBadRequest, "BadRequest", "Invalid filter clause: "+msg)
}

func parseUserFilter(f string) (userPred, *apiError) { return parseFilter(f, filterProps) }

// parseFilter compiles a $filter over the given string-valued properties.
func parseFilter[T any](f string, props map[string]func(T) string) (pred[T], *apiError) {
	toks, e := tokenizeFilter(f)
	if e != nil {
		return nil, e
	}
	p := &filterParser[T]{toks: toks, props: props}
	pred, e := p.expr()
	if e != nil {
		return nil, e
	}
	if p.pos != len(p.toks) {
		return nil, errFilter("unexpected '" + p.toks[p.pos] + "'")
	}
	return pred, nil
}

func tokenizeFilter(f string) ([]string, *apiError) {
	var toks []string
	for i := 0; i < len(f); {
		c := f[i]
		switch {
		case c == ' ' || c == '\t':
			i++
		case c == '(' || c == ')' || c == ',':
			toks = append(toks, string(c))
			i++
		case c == '\'':
			var b strings.Builder
			b.WriteByte('\'')
			j := i + 1
			for ; j < len(f); j++ {
				if f[j] == '\'' {
					if j+1 < len(f) && f[j+1] == '\'' {
						b.WriteByte('\'')
						j++
						continue
					}
					break
				}
				b.WriteByte(f[j])
			}
			if j >= len(f) {
				return nil, errFilter("unterminated string literal")
			}
			toks = append(toks, b.String())
			i = j + 1
		default:
			j := i
			for j < len(f) && !strings.ContainsRune(" \t(),'", rune(f[j])) {
				j++
			}
			toks = append(toks, f[i:j])
			i = j
		}
	}
	return toks, nil
}

func (p *filterParser[T]) peek() string {
	if p.pos < len(p.toks) {
		return p.toks[p.pos]
	}
	return ""
}

func (p *filterParser[T]) next() string { t := p.peek(); p.pos++; return t }

func (p *filterParser[T]) expect(t string) *apiError {
	if !strings.EqualFold(p.next(), t) {
		return errFilter("expected '" + t + "'")
	}
	return nil
}

func (p *filterParser[T]) expr() (pred[T], *apiError) {
	l, e := p.term()
	for e == nil && strings.EqualFold(p.peek(), "or") {
		p.next()
		var r pred[T]
		if r, e = p.term(); e == nil {
			a, b := l, r
			l = func(u T) bool { return a(u) || b(u) }
		}
	}
	return l, e
}

func (p *filterParser[T]) term() (pred[T], *apiError) {
	l, e := p.factor()
	for e == nil && strings.EqualFold(p.peek(), "and") {
		p.next()
		var r pred[T]
		if r, e = p.factor(); e == nil {
			a, b := l, r
			l = func(u T) bool { return a(u) && b(u) }
		}
	}
	return l, e
}

func literal(t string) (string, bool) {
	switch {
	case strings.HasPrefix(t, "'"):
		return t[1:], true
	case strings.EqualFold(t, "true"), strings.EqualFold(t, "false"):
		return strings.ToLower(t), true
	case strings.EqualFold(t, "null"):
		return "", true
	}
	return "", false
}

func (p *filterParser[T]) factor() (pred[T], *apiError) {
	t := p.next()
	switch {
	case t == "(":
		inner, e := p.expr()
		if e == nil {
			e = p.expect(")")
		}
		return inner, e
	case strings.EqualFold(t, "not"):
		inner, e := p.factor()
		if e != nil {
			return nil, e
		}
		return func(u T) bool { return !inner(u) }, nil
	case strings.EqualFold(t, "startswith"):
		if e := p.expect("("); e != nil {
			return nil, e
		}
		get, ok := p.props[strings.ToLower(p.next())]
		if !ok {
			return nil, errUnsupportedFilter()
		}
		if e := p.expect(","); e != nil {
			return nil, e
		}
		v, ok := literal(p.next())
		if !ok {
			return nil, errFilter("expected a literal")
		}
		if e := p.expect(")"); e != nil {
			return nil, e
		}
		lv := strings.ToLower(v)
		return func(u T) bool { return strings.HasPrefix(strings.ToLower(get(u)), lv) }, nil
	}
	get, ok := p.props[strings.ToLower(t)]
	if !ok {
		return nil, errUnsupportedFilter()
	}
	switch op := strings.ToLower(p.next()); op {
	case "eq", "ne":
		v, ok := literal(p.next())
		if !ok {
			return nil, errFilter("expected a literal")
		}
		return func(u T) bool { return strings.EqualFold(get(u), v) == (op == "eq") }, nil
	case "in":
		if e := p.expect("("); e != nil {
			return nil, e
		}
		var vals []string
		for {
			v, ok := literal(p.next())
			if !ok {
				return nil, errFilter("expected a literal")
			}
			vals = append(vals, v)
			if sep := p.next(); sep == ")" {
				break
			} else if sep != "," {
				return nil, errFilter("expected ',' or ')'")
			}
		}
		return func(u T) bool {
			for _, v := range vals {
				if strings.EqualFold(get(u), v) {
					return true
				}
			}
			return false
		}, nil
	}
	return nil, errUnsupportedFilter()
}

func errUnsupportedFilter() *apiError {
	return newAPIError(http.StatusBadRequest, "Request_UnsupportedQuery", "Unsupported or invalid query filter clause specified.")
}
