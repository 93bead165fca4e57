/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"

size_t array_next_cap(size_t cap, size_t need, size_t elem)
{
	size_t ncap = cap ? cap : 8;

	while (ncap < need) {
		if (ncap > SIZE_MAX / 2 / elem)
			return 0;
		ncap *= 2;
	}
	return ncap;
}

void *array_room(void *arr, size_t n, size_t elem)
{
	if (n && (n & (n - 1)))
		return arr;
	if (n > SIZE_MAX / 2 / elem)
		return NULL;
	return reallocarray(arr, n ? n * 2 : 1, elem);
}

int array_reserve(void *arrp, size_t *cap, size_t need, size_t elem)
{
	size_t ncap;
	void *p;

	if (need <= *cap)
		return 0;
	ncap = array_next_cap(*cap, need, elem);
	if (!ncap)
		return -ENOMEM;
	memcpy(&p, arrp, sizeof(p));	/* arrp is a T **, not a void ** */
	p = reallocarray(p, ncap, elem);
	if (!p)
		return -ENOMEM;
	memcpy(arrp, &p, sizeof(p));
	*cap = ncap;
	return 0;
}
