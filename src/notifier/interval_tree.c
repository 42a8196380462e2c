// SPDX-License-Identifier: GPL-2.0
/*
 * Augmented AVL interval tree (<mmn/linux/interval_tree.h>).
 *
 * Every node keeps its subtree height and __subtree_last, the largest
 * `last` of its subtree.  Insert and remove are plain BST operations
 * followed by a retrace from the lowest changed node to the root that
 * refreshes height and __subtree_last and rotates where the balance factor
 * leaves [-1, 1]: O(log n) each.
 *
 * Overlap query for [qs, ql]: a node N overlaps iff
 *	(1) N->start <= ql   and   (2) qs <= N->last.
 * In-order, starts are sorted, so once (1) fails it fails for every later
 * node.  __subtree_last tells whether any node of a subtree can satisfy
 * (2): a subtree whose __subtree_last < qs is skipped whole.  Finding the
 * first match costs O(log n) and each next match O(log n) amortised over
 * the walk, O(log n + k) for k matches.
 */
#include <stddef.h>

#include <mmn/linux/interval_tree.h>

typedef struct interval_tree_node itnode;

static inline int it_height(const itnode *n)
{
	return n ? n->__height : 0;
}

/* Refresh height and __subtree_last of @n from its children. */
static void it_update(itnode *n)
{
	unsigned long sl = n->last;
	int hl = it_height(n->__left), hr = it_height(n->__right);

	if (n->__left && n->__left->__subtree_last > sl)
		sl = n->__left->__subtree_last;
	if (n->__right && n->__right->__subtree_last > sl)
		sl = n->__right->__subtree_last;
	n->__subtree_last = sl;
	n->__height = 1 + (hl > hr ? hl : hr);
}

/* Make @new take @old's place under @parent (or at the root). */
static void it_replace_child(struct interval_tree_root *root, itnode *parent,
			     itnode *old, itnode *new)
{
	if (!parent)
		root->node = new;
	else if (parent->__left == old)
		parent->__left = new;
	else
		parent->__right = new;
	if (new)
		new->__parent = parent;
}

/*
 *     x                y
 *    / \              / \
 *   a   y     ->     x   c
 *      / \          / \
 *     b   c        a   b
 */
static itnode *it_rotate_left(struct interval_tree_root *root, itnode *x)
{
	itnode *y = x->__right;

	x->__right = y->__left;
	if (y->__left)
		y->__left->__parent = x;
	it_replace_child(root, x->__parent, x, y);
	y->__left = x;
	x->__parent = y;
	it_update(x);
	it_update(y);
	return y;
}

/* Mirror image of it_rotate_left(). */
static itnode *it_rotate_right(struct interval_tree_root *root, itnode *y)
{
	itnode *x = y->__left;

	y->__left = x->__right;
	if (x->__right)
		x->__right->__parent = y;
	it_replace_child(root, y->__parent, y, x);
	x->__right = y;
	y->__parent = x;
	it_update(y);
	it_update(x);
	return x;
}

/* Update @n and rotate it back into balance; returns the subtree root. */
static itnode *it_rebalance(struct interval_tree_root *root, itnode *n)
{
	int bf;

	it_update(n);
	bf = it_height(n->__left) - it_height(n->__right);
	if (bf > 1) {
		itnode *l = n->__left;

		if (it_height(l->__left) < it_height(l->__right))
			it_rotate_left(root, l);
		return it_rotate_right(root, n);
	}
	if (bf < -1) {
		itnode *r = n->__right;

		if (it_height(r->__right) < it_height(r->__left))
			it_rotate_right(root, r);
		return it_rotate_left(root, n);
	}
	return n;
}

/*
 * From @n up to the root: __subtree_last may change all the way up even
 * when the heights stop changing, so the walk always reaches the root.
 */
static void it_retrace(struct interval_tree_root *root, itnode *n)
{
	while (n) {
		n = it_rebalance(root, n);
		n = n->__parent;
	}
}

void mmn_interval_tree_insert(itnode *node, struct interval_tree_root *root)
{
	itnode **link = &root->node, *parent = NULL;

	while (*link) {
		parent = *link;
		link = node->start < parent->start ? &parent->__left
						   : &parent->__right;
	}
	node->__left = node->__right = NULL;
	node->__parent = parent;
	node->__height = 1;
	node->__subtree_last = node->last;
	*link = node;
	it_retrace(root, parent);
}

void mmn_interval_tree_remove(itnode *node, struct interval_tree_root *root)
{
	itnode *fix, *child;

	if (node->__left && node->__right) {
		/*
		 * Two children: the in-order successor (leftmost of the right
		 * subtree, which has no left child) takes @node's place.
		 */
		itnode *succ = node->__right;

		while (succ->__left)
			succ = succ->__left;
		if (succ->__parent != node) {
			itnode *sp = succ->__parent;

			sp->__left = succ->__right;
			if (succ->__right)
				succ->__right->__parent = sp;
			succ->__right = node->__right;
			node->__right->__parent = succ;
			fix = sp;
		} else {
			fix = succ;
		}
		succ->__left = node->__left;
		node->__left->__parent = succ;
		succ->__height = node->__height;
		it_replace_child(root, node->__parent, node, succ);
	} else {
		child = node->__left ? node->__left : node->__right;
		fix = node->__parent;
		it_replace_child(root, node->__parent, node, child);
	}
	interval_tree_node_clear(node);
	it_retrace(root, fix);
}

/*
 * The leftmost node of the subtree at @n overlapping [start, last].
 * Precondition: start <= n->__subtree_last.
 */
static itnode *it_subtree_search(itnode *n, unsigned long start,
				 unsigned long last)
{
	for (;;) {
		/* A left subtree that can satisfy (2) holds the leftmost
		 * candidate; if that one fails (1), so does everything to its
		 * right, so we never need to come back. */
		if (n->__left && start <= n->__left->__subtree_last) {
			n = n->__left;
			continue;
		}
		if (n->start > last)		/* (1) fails from here on */
			return NULL;
		if (start <= n->last)		/* (2) */
			return n;
		n = n->__right;
		if (!n || start > n->__subtree_last)
			return NULL;
	}
}

itnode *mmn_interval_tree_iter_first(struct interval_tree_root *root,
				     unsigned long start, unsigned long last)
{
	itnode *n = root->node;

	if (!n || start > n->__subtree_last)
		return NULL;
	return it_subtree_search(n, start, last);
}

itnode *mmn_interval_tree_iter_next(itnode *node, unsigned long start,
				    unsigned long last)
{
	itnode *right = node->__right, *prev;

	for (;;) {
		/* Invariant: @node satisfies (1).  Everything in its right
		 * subtree comes next in order. */
		if (right && start <= right->__subtree_last)
			return it_subtree_search(right, start, last);
		/* Climb until we arrive from a left child: that parent is the
		 * next node in order. */
		do {
			prev = node;
			node = node->__parent;
			if (!node)
				return NULL;
			right = node->__right;
		} while (prev == right);
		if (node->start > last)
			return NULL;
		if (start <= node->last)
			return node;
	}
}

/* Returns the height of the subtree, or -1 if it is not valid. */
static int it_check(const itnode *n, const itnode *parent,
		    unsigned long *count, const itnode **prev)
{
	int hl, hr, h;
	unsigned long sl;

	if (!n)
		return 0;
	if (n->__parent != parent || n->start > n->last)
		return -1;
	hl = it_check(n->__left, n, count, prev);
	if (hl < 0)
		return -1;
	/* in-order: starts never decrease */
	if (*prev && (*prev)->start > n->start)
		return -1;
	*prev = n;
	(*count)++;
	hr = it_check(n->__right, n, count, prev);
	if (hr < 0 || hl - hr > 1 || hr - hl > 1)
		return -1;
	h = 1 + (hl > hr ? hl : hr);
	if (n->__height != h)
		return -1;
	sl = n->last;
	if (n->__left && n->__left->__subtree_last > sl)
		sl = n->__left->__subtree_last;
	if (n->__right && n->__right->__subtree_last > sl)
		sl = n->__right->__subtree_last;
	if (n->__subtree_last != sl)
		return -1;
	return h;
}

bool mmn_interval_tree_is_valid(const struct interval_tree_root *root,
				unsigned long *count)
{
	unsigned long n = 0;
	const itnode *prev = NULL;
	bool ok = it_check(root->node, NULL, &n, &prev) >= 0;

	if (count)
		*count = n;
	return ok;
}
