/*
 * show.h - the page of `htable show`: one self-contained HTML file (its
 * style and script inline; no server, no network) that draws the spaces
 * whose picture data (ht_scan_picture, ht_as_picture) it holds.
 *
 * The page is made at build time from page.html, show.css and show.js
 * (embed.c); the command writes show_page_open, then a JSON array of
 * picture objects, then show_page_close.  The data sits in a script
 * element of type application/json: the pictures escape every '<', so
 * nothing in them can end it.
 */
#ifndef HTABLE_SHOW_H
#define HTABLE_SHOW_H

#include <stdio.h>

/* The page up to where the data goes.  Errors: none (see ferror). */
void show_page_open(FILE *f);
/* The page after the data.  Errors: none (see ferror). */
void show_page_close(FILE *f);

#endif
