/* unicode.h - Go's unicode.IsX and ToX for runes (see unicode.c). */
#ifndef BERTH_CHART_UNICODE_H
#define BERTH_CHART_UNICODE_H

#include <stdbool.h>
#include <stdint.h>

bool rune_is_space(uint32_t r);
bool rune_is_upper(uint32_t r);
bool rune_is_lower(uint32_t r);
bool rune_is_title(uint32_t r);
bool rune_is_letter(uint32_t r);
bool rune_is_digit(uint32_t r);
bool rune_is_number(uint32_t r);
bool rune_is_punct(uint32_t r);
uint32_t rune_to_upper(uint32_t r);
uint32_t rune_to_lower(uint32_t r);
uint32_t rune_to_title(uint32_t r);

#endif
