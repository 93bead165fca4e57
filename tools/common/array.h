/* SPDX-License-Identifier: MIT */
/* Growable arrays: one doubling rule instead of a loop at every site. */
#ifndef TOOLS_ARRAY_H
#define TOOLS_ARRAY_H

#include <stddef.h>

/*
 * Makes room for `need` elements of `elem` bytes in the array *arrp (any
 * T ** passed as void *) of capacity *cap, doubling from 8.  Returns 0, or
 * -ENOMEM with the array and *cap as they were.
 */
int array_reserve(void *arrp, size_t *cap, size_t need, size_t elem);

/* The capacity array_reserve would pick for need, or 0 on overflow. */
size_t array_next_cap(size_t cap, size_t need, size_t elem);

/*
 * For arrays that keep no capacity: room for element n of arr, whose
 * capacity is taken to be the power of two at or above n.  Returns the
 * array, moved or not, or NULL (arr is then unchanged).
 */
void *array_room(void *arr, size_t n, size_t elem);

#endif
