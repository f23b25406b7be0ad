/* ascii.h: ASCII character helpers shared by the parsers. */
#ifndef GLIMPSE_ASCII_H
#define GLIMPSE_ASCII_H

/* The value of hex digit c (either case), or -1 when it is not one. */
static inline int ascii_hex_value(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

#endif
