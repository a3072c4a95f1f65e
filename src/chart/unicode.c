/* unicode.c - the rune classes and case mappings Go's unicode package gives
 * Sprig and strings.*: ASCII by table, everything else through glibc's
 * C.UTF-8 locale (wide-character classes), loaded once.
 */
#include "unicode.h"
#include <locale.h>
#include <pthread.h>
#include <wctype.h>

static locale_t utf8_loc;
static pthread_once_t loc_once = PTHREAD_ONCE_INIT;

static void loc_init(void)
{
	utf8_loc = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
}

static locale_t loc(void)
{
	pthread_once(&loc_once, loc_init);
	return utf8_loc;
}

bool rune_is_space(uint32_t r)
{
	switch (r) {
	case '\t': case '\n': case '\v': case '\f': case '\r': case ' ': case 0x85: case 0xA0:
		return true;
	}
	if (r < 0x100)
		return false;
	return r == 0x1680 || (r >= 0x2000 && r <= 0x200A) || r == 0x2028 || r == 0x2029 || r == 0x202F ||
	       r == 0x205F || r == 0x3000;
}

bool rune_is_upper(uint32_t r)
{
	if (r < 0x80)
		return r >= 'A' && r <= 'Z';
	return loc() && iswupper_l((wint_t)r, loc());
}

bool rune_is_lower(uint32_t r)
{
	if (r < 0x80)
		return r >= 'a' && r <= 'z';
	return loc() && iswlower_l((wint_t)r, loc());
}

bool rune_is_letter(uint32_t r)
{
	if (r < 0x80)
		return (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z');
	if (r == 0xAA || r == 0xB5 || r == 0xBA)
		return true;
	return loc() && iswalpha_l((wint_t)r, loc()) && !rune_is_number(r);
}

bool rune_is_digit(uint32_t r)
{
	if (r < 0x80)
		return r >= '0' && r <= '9';
	return loc() && iswdigit_l((wint_t)r, loc());
}

bool rune_is_number(uint32_t r)
{
	if (r < 0x80)
		return r >= '0' && r <= '9';
	/* superscripts, fractions and the common digit blocks */
	if (r == 0xB2 || r == 0xB3 || r == 0xB9 || (r >= 0xBC && r <= 0xBE))
		return true;
	if ((r >= 0x660 && r <= 0x669) || (r >= 0x6F0 && r <= 0x6F9) || (r >= 0x966 && r <= 0x96F) ||
	    (r >= 0xFF10 && r <= 0xFF19) || (r >= 0x2160 && r <= 0x2188) || (r >= 0x2460 && r <= 0x249B))
		return true;
	return false;
}

bool rune_is_punct(uint32_t r)
{
	if (r < 0x80) {
		switch (r) {
		case '!': case '"': case '#': case '%': case '&': case '\'': case '(': case ')': case '*':
		case ',': case '-': case '.': case '/': case ':': case ';': case '?': case '@': case '[':
		case '\\': case ']': case '_': case '{': case '}':
			return true;
		}
		return false;
	}
	if (r == 0xA1 || r == 0xA7 || r == 0xAB || r == 0xB6 || r == 0xB7 || r == 0xBB || r == 0xBF)
		return true;
	return (r >= 0x2010 && r <= 0x2027) || (r >= 0x2030 && r <= 0x205E) || (r >= 0x3001 && r <= 0x3003) ||
	       (r >= 0x3008 && r <= 0x3011);
}

uint32_t rune_to_upper(uint32_t r)
{
	if (r < 0x80)
		return r >= 'a' && r <= 'z' ? r - 32 : r;
	return loc() ? (uint32_t)towupper_l((wint_t)r, loc()) : r;
}

uint32_t rune_to_lower(uint32_t r)
{
	if (r < 0x80)
		return r >= 'A' && r <= 'Z' ? r + 32 : r;
	return loc() ? (uint32_t)towlower_l((wint_t)r, loc()) : r;
}

uint32_t rune_to_title(uint32_t r)
{
	/* title case differs from upper case only for a few digraphs */
	switch (r) {
	case 0x1C4: case 0x1C5: case 0x1C6: return 0x1C5;
	case 0x1C7: case 0x1C8: case 0x1C9: return 0x1C8;
	case 0x1CA: case 0x1CB: case 0x1CC: return 0x1CB;
	case 0x1F1: case 0x1F2: case 0x1F3: return 0x1F2;
	}
	return rune_to_upper(r);
}

bool rune_is_title(uint32_t r)
{
	return r == 0x1C5 || r == 0x1C8 || r == 0x1CB || r == 0x1F2 || (r >= 0x1F88 && r <= 0x1F8F) ||
	       (r >= 0x1F98 && r <= 0x1F9F) || (r >= 0x1FA8 && r <= 0x1FAF) || r == 0x1FBC || r == 0x1FCC ||
	       r == 0x1FFC;
}
