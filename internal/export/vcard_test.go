package export

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"

	vcard "github.com/emersion/go-vcard"
	"github.com/stretchr/testify/require"
)

const fullContact = `{
  "id": "AAMkADContact1=",
  "displayName": "Dr. Pavel Bansky Jr.",
  "givenName": "Pavel", "middleName": "J", "surname": "Bansky", "initials": "P.J.B.",
  "nickName": "Pasha", "title": "Dr.", "generation": "Jr.",
  "yomiGivenName": "パベル", "yomiSurname": "バンスキー", "yomiCompanyName": "コントソ",
  "fileAs": "Bansky, Pavel",
  "companyName": "Contoso; Ltd", "department": "R&D, Devices", "jobTitle": "Principal Engineer", "profession": "Engineer",
  "officeLocation": "B92/1001",
  "manager": "Adele Vance", "assistantName": "Lee Gu",
  "emailAddresses": [{"name": "Pavel", "address": "pavel@example.com"}, {"name": "", "address": "pb@contoso.com"}, {"name": "x", "address": ""}],
  "businessPhones": ["+1 425 555 0100", "+1 425 555 0101"], "homePhones": ["+1 206 555 0102"], "mobilePhone": "+1 206 555 0103",
  "businessAddress": {"street": "1 Microsoft Way", "city": "Redmond", "state": "WA", "postalCode": "98052", "countryOrRegion": "United States"},
  "homeAddress": {"street": "12 Main St\nApt 4", "city": "Seattle", "state": "WA", "postalCode": "98101", "countryOrRegion": "United States"},
  "otherAddress": {"street": "", "city": "", "state": "", "postalCode": "", "countryOrRegion": ""},
  "businessHomePage": "https://contoso.example/pavel?a=1,2;b",
  "birthday": "1974-07-22T11:59:00Z",
  "personalNotes": "Met at Build.\nLikes tea, coffee; and \\backslashes\\. 🎉",
  "categories": ["VIP", "Friends, close", ""],
  "imAddresses": ["sip:pavel@contoso.com", "pavel.im@contoso.com"],
  "spouseName": "Anna Bansky", "children": ["Tom", "Eva"],
  "lastModifiedDateTime": "2025-06-02T11:00:00.1234567Z"
}`

type vcProp struct {
	group, name string
	params      map[string][]string
	value       string // raw, escaped
}

// parseVCardLines is an independent vCard 3.0 reader: unfolding, groups, quoted parameters.
func parseVCardLines(t *testing.T, s string) []vcProp {
	t.Helper()
	s = strings.ReplaceAll(s, "\r\n ", "")
	var out []vcProp
	for _, l := range strings.Split(strings.TrimSuffix(s, "\r\n"), "\r\n") {
		inQ, colon := false, -1
		for i := 0; i < len(l); i++ {
			if l[i] == '"' {
				inQ = !inQ
			} else if l[i] == ':' && !inQ {
				colon = i
				break
			}
		}
		require.Greater(t, colon, 0, l)
		head := strings.Split(l[:colon], ";")
		p := vcProp{name: strings.ToUpper(head[0]), params: map[string][]string{}, value: l[colon+1:]}
		if g, n, ok := strings.Cut(p.name, "."); ok {
			p.group, p.name = g, n
		}
		for _, kv := range head[1:] {
			k, v, _ := strings.Cut(kv, "=")
			p.params[strings.ToUpper(k)] = append(p.params[strings.ToUpper(k)], strings.Split(strings.Trim(v, `"`), ",")...)
		}
		out = append(out, p)
	}
	return out
}

// unescapeParts splits a value on unescaped sep and unescapes each part (RFC 2426 §4).
func unescapeParts(v string, sep byte) []string {
	var parts []string
	var cur strings.Builder
	for i := 0; i < len(v); i++ {
		switch {
		case v[i] == '\\' && i+1 < len(v):
			i++
			if v[i] == 'n' || v[i] == 'N' {
				cur.WriteByte('\n')
			} else {
				cur.WriteByte(v[i])
			}
		case v[i] == sep:
			parts = append(parts, cur.String())
			cur.Reset()
		default:
			cur.WriteByte(v[i])
		}
	}
	return append(parts, cur.String())
}

func writeVCard(t *testing.T, contact string, photo []byte, photoType string) string {
	t.Helper()
	var b bytes.Buffer
	require.NoError(t, WriteVCard(&b, json.RawMessage(contact), photo, photoType))
	checkContentLines(t, b.String())
	return b.String()
}

func TestVCardFields(t *testing.T) {
	photo := bytes.Repeat([]byte{0x89, 'P', 'N', 'G', 0, 1, 2, 3, 0xff}, 300)
	out := writeVCard(t, fullContact, photo, "image/png")
	require.True(t, strings.HasPrefix(out, "BEGIN:VCARD\r\nVERSION:3.0\r\n"))
	require.True(t, strings.HasSuffix(out, "END:VCARD\r\n"))

	props := parseVCardLines(t, out)
	get := func(name string) []vcProp {
		var ps []vcProp
		for _, p := range props {
			if p.name == name {
				ps = append(ps, p)
			}
		}
		return ps
	}
	one := func(name string) vcProp {
		ps := get(name)
		require.Len(t, ps, 1, name)
		return ps[0]
	}
	text := func(name string) string { return unescapeParts(one(name).value, 0)[0] }

	require.Equal(t, []string{"Bansky", "Pavel", "J", "Dr.", "Jr."}, unescapeParts(one("N").value, ';'))
	require.Equal(t, "Dr. Pavel Bansky Jr.", text("FN"))
	require.Equal(t, "Pasha", text("NICKNAME"))
	require.Equal(t, "Bansky, Pavel", text("SORT-STRING"))
	require.Equal(t, "パベル", text("X-PHONETIC-FIRST-NAME"))
	require.Equal(t, "バンスキー", text("X-PHONETIC-LAST-NAME"))
	require.Equal(t, "コントソ", text("X-PHONETIC-ORG"))
	require.Equal(t, []string{"Contoso; Ltd", "R&D, Devices"}, unescapeParts(one("ORG").value, ';'))
	require.Equal(t, "Principal Engineer", text("TITLE"))
	require.Equal(t, "Engineer", text("ROLE"))

	emails := get("EMAIL")
	require.Len(t, emails, 2, "an empty address is left out")
	require.Equal(t, "pavel@example.com", emails[0].value)
	require.Equal(t, []string{"INTERNET", "PREF"}, emails[0].params["TYPE"])
	require.Equal(t, "pb@contoso.com", emails[1].value)

	var tels []string
	for _, p := range get("TEL") {
		tels = append(tels, strings.Join(p.params["TYPE"], ",")+" "+p.value)
	}
	require.Equal(t, []string{"WORK,VOICE +1 425 555 0100", "WORK,VOICE +1 425 555 0101", "HOME,VOICE +1 206 555 0102", "CELL,VOICE +1 206 555 0103"}, tels)

	adrs := get("ADR")
	require.Len(t, adrs, 2, "an empty address is left out")
	require.Equal(t, []string{"WORK"}, adrs[0].params["TYPE"])
	require.Equal(t, []string{"", "", "1 Microsoft Way", "Redmond", "WA", "98052", "United States"}, unescapeParts(adrs[0].value, ';'))
	require.Equal(t, []string{"HOME"}, adrs[1].params["TYPE"])
	require.Equal(t, "12 Main St\nApt 4", unescapeParts(adrs[1].value, ';')[2])

	require.Equal(t, "https://contoso.example/pavel?a=1,2;b", one("URL").value, "a URI is not escaped")
	require.Equal(t, "1974-07-22", one("BDAY").value, "the date as Graph stores it, whatever the time")
	require.Equal(t, "Met at Build.\nLikes tea, coffee; and \\backslashes\\. 🎉", text("NOTE"))
	require.Equal(t, []string{"VIP", "Friends, close"}, unescapeParts(one("CATEGORIES").value, ','))
	var impp []string
	for _, p := range get("IMPP") {
		impp = append(impp, p.value)
	}
	require.Equal(t, []string{"sip:pavel@contoso.com", "sip:pavel.im@contoso.com"}, impp)
	require.Len(t, get("X-MS-IMADDRESS"), 2)

	related := map[string][]string{}
	labels := map[string]string{}
	for _, p := range props {
		switch p.name {
		case "X-ABLABEL":
			labels[p.group] = p.value
		}
	}
	for _, p := range get("X-ABRELATEDNAMES") {
		related[labels[p.group]] = append(related[labels[p.group]], p.value)
	}
	require.Equal(t, map[string][]string{"_$!<Spouse>!$_": {"Anna Bansky"}, "_$!<Child>!$_": {"Tom", "Eva"},
		"_$!<Manager>!$_": {"Adele Vance"}, "_$!<Assistant>!$_": {"Lee Gu"}}, related)

	require.Equal(t, "20250602T110000Z", one("REV").value)
	require.Equal(t, "AAMkADContact1=", one("UID").value)

	ph := one("PHOTO")
	require.Equal(t, []string{"b"}, ph.params["ENCODING"])
	require.Equal(t, []string{"PNG"}, ph.params["TYPE"])
	got, err := base64.StdEncoding.DecodeString(ph.value)
	require.NoError(t, err)
	require.Equal(t, photo, got)
}

// go-vcard reads what we write (it does not unescape ';', so the values here have none).
func TestVCardReadByGoVCard(t *testing.T) {
	contact := `{"displayName":"Zoë Müller","givenName":"Zoë","surname":"Müller","companyName":"Fabrikam",
		"emailAddresses":[{"address":"zoe@example.de"}],"mobilePhone":"+49 30 1234567","birthday":"1990-02-03T00:00:00Z",
		"homeAddress":{"street":"Unter den Linden 1","city":"Berlin","postalCode":"10117","countryOrRegion":"Germany"},
		"personalNotes":"Line one\nLine two, with a comma","categories":["Family"]}`
	photo := []byte("\xff\xd8\xff\xe0 not really a jpeg but long enough to be folded over several lines ............................................")
	out := writeVCard(t, contact, photo, "")
	card, err := vcard.NewDecoder(strings.NewReader(out)).Decode()
	require.NoError(t, err)
	require.Equal(t, "3.0", card.Value(vcard.FieldVersion))
	require.Equal(t, "Zoë Müller", card.PreferredValue(vcard.FieldFormattedName))
	n := card.Name()
	require.Equal(t, "Müller", n.FamilyName)
	require.Equal(t, "Zoë", n.GivenName)
	require.Equal(t, "zoe@example.de", card.PreferredValue(vcard.FieldEmail))
	tel := card.Get(vcard.FieldTelephone)
	require.Equal(t, "+49 30 1234567", tel.Value)
	require.True(t, tel.Params.HasType("cell"))
	adr := card.Address()
	require.Equal(t, "Unter den Linden 1", adr.StreetAddress)
	require.Equal(t, "Berlin", adr.Locality)
	require.Equal(t, "10117", adr.PostalCode)
	require.Equal(t, "Germany", adr.Country)
	require.True(t, adr.Params.HasType("home"))
	require.Equal(t, "1990-02-03", card.Value(vcard.FieldBirthday))
	require.Equal(t, "Line one\nLine two, with a comma", card.Value(vcard.FieldNote))
	require.Equal(t, []string{"Family"}, card.Categories())
	ph := card.Get(vcard.FieldPhoto)
	require.Equal(t, "JPEG", ph.Params.Get("TYPE"), "sniffed when no content type is given")
	got, err := base64.StdEncoding.DecodeString(ph.Value)
	require.NoError(t, err)
	require.Equal(t, photo, got)
}

func TestVCardMinimal(t *testing.T) {
	out := writeVCard(t, `{"emailAddresses":[{"name":"","address":"someone@example.com"}]}`, nil, "")
	require.Equal(t, "BEGIN:VCARD\r\nVERSION:3.0\r\nPRODID:"+VCardProductID+"\r\nN:;;;;\r\nFN:someone@example.com\r\n"+
		"EMAIL;TYPE=INTERNET,PREF:someone@example.com\r\nEND:VCARD\r\n", out, "FN (required in 3.0) falls back to the address")

	out = writeVCard(t, `{"givenName":"Ana","surname":"Lima","companyName":"Contoso","birthday":null}`, nil, "")
	require.Contains(t, out, "\r\nFN:Ana Lima\r\n")
	require.Contains(t, out, "\r\nORG:Contoso;\r\n")
	require.NotContains(t, out, "PHOTO")
	require.NotContains(t, out, "BDAY")

	out = writeVCard(t, `{"companyName":"Fabrikam"}`, nil, "")
	require.Contains(t, out, "\r\nFN:Fabrikam\r\n")

	var b bytes.Buffer
	require.Error(t, WriteVCard(&b, json.RawMessage(`[]`), nil, ""))
}

func TestVCardControlCharacters(t *testing.T) {
	out := writeVCard(t, `{"displayName":"Bad\u0000\u0007 Name\r\nsecond","personalNotes":"a\r\nb\rc"}`, nil, "")
	props := parseVCardLines(t, out)
	for _, p := range props {
		switch p.name {
		case "FN":
			require.Equal(t, `Bad Name\nsecond`, p.value)
		case "NOTE":
			require.Equal(t, `a\nb\nc`, p.value)
		}
	}
}

func TestPhotoTypeParam(t *testing.T) {
	jpeg := []byte{0xff, 0xd8, 0xff, 0xe0}
	png := []byte("\x89PNG\r\n\x1a\n....")
	gif := []byte("GIF89a....")
	cases := []struct {
		ct    string
		photo []byte
		want  string
	}{
		{"image/jpeg", png, "JPEG"}, // the content type wins
		{"image/jpg", nil, "JPEG"},
		{"IMAGE/PNG; charset=binary", nil, "PNG"},
		{"image/gif", nil, "GIF"},
		{"", jpeg, "JPEG"},
		{"", png, "PNG"},
		{"application/octet-stream", gif, "GIF"},
		{"", []byte("unknown"), "JPEG"},
		{"image/svg+xml", nil, "SVG+XML"},
		{`image/x"y;z`, nil, "XY"},
	}
	for _, tc := range cases {
		require.Equal(t, tc.want, photoTypeParam(tc.ct, tc.photo), tc.ct)
	}
}
