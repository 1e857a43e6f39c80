//! A bounded map of recently used values, for what search reads again and again from segments
//! that never change once written: a query's count in a segment, an event's row.
//!
//! Two generations: entries go into the current one; when it is full it becomes the previous
//! one and the one before is dropped. A hit in the previous generation moves the entry back to
//! the current. So at most `2 × half` entries are held, and what is used stays.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;

/// Recently used values, at most twice `half` of them.
#[derive(Debug)]
pub struct RecentMap<K, V> {
    half: usize,
    generations: Mutex<Generations<K, V>>,
}

#[derive(Debug)]
struct Generations<K, V> {
    current: HashMap<K, V>,
    previous: HashMap<K, V>,
}

impl<K: Hash + Eq, V: Clone> RecentMap<K, V> {
    /// A map that holds between `half` and `2 × half` entries once it has filled.
    pub fn new(half: usize) -> RecentMap<K, V> {
        RecentMap {
            half: half.max(1),
            generations: Mutex::new(Generations {
                current: HashMap::new(),
                previous: HashMap::new(),
            }),
        }
    }

    pub fn get(&self, key: &K) -> Option<V> {
        let mut generations = self.lock();
        if let Some(value) = generations.current.get(key) {
            return Some(value.clone());
        }
        let (key, value) = generations.previous.remove_entry(key)?;
        let found = value.clone();
        self.insert_locked(&mut generations, key, value);
        Some(found)
    }

    pub fn insert(&self, key: K, value: V) {
        let mut generations = self.lock();
        self.insert_locked(&mut generations, key, value);
    }

    fn insert_locked(&self, generations: &mut Generations<K, V>, key: K, value: V) {
        if generations.current.len() >= self.half && !generations.current.contains_key(&key) {
            generations.previous = std::mem::take(&mut generations.current);
        }
        generations.current.insert(key, value);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Generations<K, V>> {
        // Every change leaves both maps whole, so a poisoned lock is still usable.
        self.generations
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holds_what_is_used_and_drops_the_oldest() {
        let map = RecentMap::new(2);
        map.insert(1, "one");
        map.insert(2, "two");
        // Full: 1 and 2 become the previous generation.
        map.insert(3, "three");
        assert_eq!(map.get(&1), Some("one"), "moved back to the current");
        // Full again (3, 1): they become the previous generation; 2 is dropped.
        map.insert(4, "four");
        assert_eq!(map.get(&2), None);
        assert_eq!(map.get(&3), Some("three"));
        assert_eq!(map.get(&4), Some("four"));
    }
}
