/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Interval tree, kernel-shaped (<linux/interval_tree.h>): a balanced binary
 * search tree of closed intervals [start, last], ordered by start and
 * augmented with the largest `last` of each subtree, so that every interval
 * overlapping a query [qstart, qlast] is found in O(log n + k).
 *
 * The lab's tree is an AVL tree (Linux uses an augmented red-black tree;
 * the complexity and the API are the same).  Nodes are embedded in the
 * caller's structure (struct mmu_interval_notifier embeds one).  The tree
 * does no locking: the owner serialises insert/remove against each other
 * and against iteration.
 *
 * Ranges: the node stores an inclusive `last`.  A [start, end) range with
 * end exclusive converts as last = end - 1.
 */
#ifndef MMN_LINUX_INTERVAL_TREE_H
#define MMN_LINUX_INTERVAL_TREE_H

#include <stddef.h>
#include <stdbool.h>

struct interval_tree_node {
	unsigned long start;		/* first address, inclusive */
	unsigned long last;		/* last address, inclusive */
	/* private to the tree */
	unsigned long __subtree_last;	/* max(last) over this subtree */
	struct interval_tree_node *__parent;
	struct interval_tree_node *__left;
	struct interval_tree_node *__right;
	int __height;			/* AVL height, 0 = not in a tree */
};

struct interval_tree_root {
	struct interval_tree_node *node;	/* NULL: empty */
};

#define INTERVAL_TREE_ROOT	((struct interval_tree_root){ NULL })

void mmn_interval_tree_insert(struct interval_tree_node *node,
			      struct interval_tree_root *root);
void mmn_interval_tree_remove(struct interval_tree_node *node,
			      struct interval_tree_root *root);
/* The leftmost (lowest start) node overlapping [start, last], or NULL. */
struct interval_tree_node *
mmn_interval_tree_iter_first(struct interval_tree_root *root,
			     unsigned long start, unsigned long last);
/* The next node after @node, in start order, overlapping [start, last]. */
struct interval_tree_node *
mmn_interval_tree_iter_next(struct interval_tree_node *node,
			    unsigned long start, unsigned long last);
/*
 * Invariant checker, for assertions and tests: parent links, start order,
 * AVL balance and heights, and every __subtree_last.  Walks the whole tree.
 * Stores the node count in *count if not NULL.
 */
bool mmn_interval_tree_is_valid(const struct interval_tree_root *root,
				unsigned long *count);

/* RB_CLEAR_NODE / RB_EMPTY_NODE: a node that is in no tree. */
static inline void interval_tree_node_clear(struct interval_tree_node *node)
{
	node->__parent = node->__left = node->__right = NULL;
	node->__height = 0;
}

static inline bool interval_tree_node_empty(const struct interval_tree_node *node)
{
	return node->__height == 0;
}

static inline bool interval_tree_empty(const struct interval_tree_root *root)
{
	return root->node == NULL;
}

static inline void interval_tree_insert(struct interval_tree_node *node,
					struct interval_tree_root *root)
{
	mmn_interval_tree_insert(node, root);
}

static inline void interval_tree_remove(struct interval_tree_node *node,
					struct interval_tree_root *root)
{
	mmn_interval_tree_remove(node, root);
}

static inline struct interval_tree_node *
interval_tree_iter_first(struct interval_tree_root *root, unsigned long start,
			 unsigned long last)
{
	return mmn_interval_tree_iter_first(root, start, last);
}

static inline struct interval_tree_node *
interval_tree_iter_next(struct interval_tree_node *node, unsigned long start,
			unsigned long last)
{
	return mmn_interval_tree_iter_next(node, start, last);
}

#endif
