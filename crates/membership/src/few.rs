//! Small collections for per-group state, which exists once per (link, group) and so dominates
//! memory at thousands of groups: a group nearly always has one host, no or a few sources.

/// A vector for what is nearly always one element: that one is stored inline (no allocation);
/// a second one moves both into a `Vec`, and a vector left with one element goes back inline.
#[derive(Clone, Debug)]
pub(crate) enum Few<T> {
    One(T),
    /// Empty, or at least two elements.
    Many(Vec<T>),
}

impl<T> Default for Few<T> {
    fn default() -> Self {
        Few::Many(Vec::new())
    }
}

impl<T> Few<T> {
    pub(crate) fn as_slice(&self) -> &[T] {
        match self {
            Few::One(only) => std::slice::from_ref(only),
            Few::Many(items) => items,
        }
    }

    pub(crate) fn as_mut_slice(&mut self) -> &mut [T] {
        match self {
            Few::One(only) => std::slice::from_mut(only),
            Few::Many(items) => items,
        }
    }

    /// Inserts `item` at `index` (at the end when `index` is past it).
    pub(crate) fn insert(&mut self, index: usize, item: T) {
        *self = match std::mem::take(self) {
            Few::Many(items) if items.is_empty() => Few::One(item),
            Few::One(first) => {
                let mut items = Vec::with_capacity(2);
                items.push(first);
                items.insert(index.min(1), item);
                Few::Many(items)
            }
            Few::Many(mut items) => {
                reserve_one(&mut items);
                items.insert(index.min(items.len()), item);
                Few::Many(items)
            }
        };
    }

    /// Removes and returns the element at `index`, if there is one.
    pub(crate) fn remove(&mut self, index: usize) -> Option<T> {
        match std::mem::take(self) {
            Few::One(only) if index == 0 => Some(only),
            unchanged @ Few::One(_) => {
                *self = unchanged;
                None
            }
            Few::Many(mut items) => {
                let removed = (index < items.len()).then(|| items.remove(index));
                *self = Few::from_vec(items);
                removed
            }
        }
    }

    /// The elements, in order.
    pub(crate) fn into_vec(self) -> Vec<T> {
        match self {
            Few::One(only) => vec![only],
            Few::Many(items) => items,
        }
    }

    /// Keeps the elements for which `keep` is true.
    pub(crate) fn retain(&mut self, mut keep: impl FnMut(&T) -> bool) {
        match self {
            Few::One(only) => {
                if !keep(only) {
                    *self = Few::default();
                }
            }
            Few::Many(items) => {
                items.retain(|item| keep(item));
                if items.len() <= 1 {
                    *self = Few::from_vec(std::mem::take(items));
                }
            }
        }
    }

    /// An emptied vector is freed, one left with a single element goes back inline.
    pub(crate) fn from_vec(mut items: Vec<T>) -> Few<T> {
        if items.len() > 1 {
            return Few::Many(items);
        }
        items.pop().map_or_else(Few::default, Few::One)
    }
}

/// Room for one more element: exactly one while the vector is small (a `Vec` would otherwise
/// start at four, and most groups hold one host or a few sources for hours), amortised
/// doubling beyond so that long lists are not reallocated on every insertion.
pub(crate) fn reserve_one<T>(items: &mut Vec<T>) {
    const EXACT_UP_TO: usize = 4;
    if items.len() < EXACT_UP_TO {
        items.reserve_exact(1);
    } else {
        items.reserve(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_element_inline_more_in_a_vector() {
        let mut few = Few::default();
        assert!(few.as_slice().is_empty());
        few.insert(0, 20);
        assert!(matches!(few, Few::One(20)));
        few.insert(0, 10);
        few.insert(2, 30);
        assert_eq!(few.as_slice(), &[10, 20, 30]);
        if let Some(first) = few.as_mut_slice().first_mut() {
            *first = 11;
        }
        assert_eq!(few.remove(1), Some(20));
        assert_eq!(few.remove(5), None);
        assert_eq!(few.as_slice(), &[11, 30]);
        few.retain(|item| *item > 20);
        assert!(matches!(few, Few::One(30)), "back inline: {few:?}");
        assert_eq!(few.remove(1), None);
        assert_eq!(few.remove(0), Some(30));
        assert!(few.as_slice().is_empty());
        few.insert(0, 1);
        few.retain(|_| false);
        assert!(few.as_slice().is_empty());
    }

    #[test]
    fn small_vectors_hold_exactly_their_entries() {
        let mut items: Vec<u64> = Vec::new();
        reserve_one(&mut items);
        items.push(1);
        assert_eq!(items.capacity(), 1, "one entry, one slot");
        for i in 2..=64 {
            reserve_one(&mut items);
            items.push(i);
        }
        assert!(
            items.capacity() < 128,
            "amortised growth beyond the small sizes"
        );
    }
}
