/*
 * show.c - writing the page of `htable show` around its data (show.h).
 */
#include "show.h"

extern const char show_page_head[], show_page_style[], show_page_mid[],
    show_page_pre_script[], show_page_script[], show_page_end[];

void
show_page_open(FILE *f)
{
	fputs(show_page_head, f);
	fputs(show_page_style, f);
	fputs(show_page_mid, f);
}

void
show_page_close(FILE *f)
{
	fputs(show_page_pre_script, f);
	fputs(show_page_script, f);
	fputs(show_page_end, f);
}
