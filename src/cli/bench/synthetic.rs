//! A seeded, synthetic-but-realistic e-commerce dataset for the scale benchmark
//! (`recfuse bench generate`).
//!
//! The model, chosen to look like real retail logs to the signals:
//! - **Items**: a top-level category from 20 (category sizes Zipf-distributed,
//!   exponent 0.8) and one of 10 sub-categories; a brand (Zipf over `items / 50` brands);
//!   a log-normal price (category median between e¹ and e⁴, σ = 0.7); a title from word
//!   lists; `created_at`: 70 % of items exist before the log starts, 30 % are launched
//!   during it (new arrivals).
//! - **Item popularity**: Zipf with exponent `item_zipf` (default 0.8: at 10 M events and 1 M items the top 1 % of items draw 37 % of the events) over a random
//!   permutation of the items, so popular items are spread over categories.
//! - **Users**: activity weights log-normal (σ = 1.5), i.e. a long tail of one-off
//!   shoppers and a few very heavy ones; each user has two favourite categories.
//! - **Sessions (baskets)**: the shopper is drawn by activity; the day follows a weekly
//!   pattern (weekends × 1.3) and a mild upward trend over `days` days, the hour a
//!   daytime profile. A session views 1 + Geometric(mean 3) items (at most 50): each item
//!   comes from the global popularity (35 %), a favourite category (45 %) or the previous
//!   item's category (20 %). A view is followed by a cart with probability 0.25 and a
//!   cart by a purchase with probability 0.6; 2 % of purchases are returned 3–30 days
//!   later. Purchases have a quantity of 1 + Geometric(mean 0.67).
//!
//! The same seed gives the same rows, whatever the batch size used to write them.

use fastrand::Rng;

/// Generator settings.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct SyntheticConfig {
    /// Number of events.
    pub events: usize,
    /// Number of items.
    pub items: usize,
    /// Number of users (0 = one per 20 events).
    pub users: usize,
    /// Seed of everything.
    pub seed: u64,
    /// Length of the log in days.
    pub days: u32,
    /// Unix seconds of the first day (default 2023-01-01T00:00:00Z).
    pub start: i64,
    /// Zipf exponent of item popularity.
    pub item_zipf: f64,
}

impl Default for SyntheticConfig {
    fn default() -> Self {
        Self { events: 1_000_000, items: 100_000, users: 0, seed: 42, days: 365, start: 1_672_531_200, item_zipf: 0.8 }
    }
}

impl SyntheticConfig {
    /// The number of users actually generated.
    pub(super) fn user_count(&self) -> usize {
        if self.users > 0 { self.users } else { (self.events / 20).max(1) }
    }
}

const CATEGORIES: [&str; 20] = [
    "Home",
    "Kitchen",
    "Garden",
    "Toys",
    "Books",
    "Electronics",
    "Fashion",
    "Beauty",
    "Sports",
    "Grocery",
    "Pets",
    "Baby",
    "Office",
    "Health",
    "Automotive",
    "Music",
    "Crafts",
    "Tools",
    "Outdoor",
    "Jewellery",
];
const SUBCATEGORIES: [&str; 10] =
    ["Essentials", "Classics", "Accessories", "Gifts", "Storage", "Care", "Decor", "Kits", "Basics", "Premium"];
const ADJECTIVES: [&str; 16] = [
    "Compact", "Vintage", "Classic", "Deluxe", "Mini", "Large", "Soft", "Bright", "Rustic", "Modern", "Handmade",
    "Portable", "Eco", "Festive", "Elegant", "Sturdy",
];
const MATERIALS: [&str; 12] =
    ["Bamboo", "Ceramic", "Cotton", "Glass", "Leather", "Linen", "Metal", "Oak", "Paper", "Silver", "Steel", "Wool"];
const NOUNS: [&str; 20] = [
    "Lamp", "Mug", "Basket", "Candle", "Bag", "Box", "Frame", "Clock", "Bowl", "Cushion", "Notebook", "Bottle", "Jar",
    "Tray", "Set", "Holder", "Sign", "Kit", "Mat", "Tin",
];

/// The catalogue as columns.
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct SyntheticCatalogue {
    /// `item_id`.
    pub item_id: Vec<String>,
    /// `title`.
    pub title: Vec<String>,
    /// `category` ("Top > Sub").
    pub category: Vec<String>,
    /// `brand`.
    pub brand: Vec<String>,
    /// `price`.
    pub price: Vec<f64>,
    /// `created_at` (unix seconds).
    pub created_at: Vec<i64>,
}

/// A batch of events as columns.
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct EventBatch {
    /// `user_id`.
    pub user_id: Vec<String>,
    /// `item_id`.
    pub item_id: Vec<String>,
    /// `event_type` (view, cart, purchase, return).
    pub event_type: Vec<String>,
    /// `timestamp` (unix seconds).
    pub timestamp: Vec<i64>,
    /// `quantity`.
    pub quantity: Vec<i64>,
    /// `session_id`.
    pub session_id: Vec<String>,
}

impl EventBatch {
    /// Number of events.
    pub(super) fn len(&self) -> usize {
        self.user_id.len()
    }

    fn push(&mut self, user: &str, item: &str, kind: &str, time: i64, quantity: i64, session: &str) {
        self.user_id.push(user.to_owned());
        self.item_id.push(item.to_owned());
        self.event_type.push(kind.to_owned());
        self.timestamp.push(time);
        self.quantity.push(quantity);
        self.session_id.push(session.to_owned());
    }
}

/// A standard normal draw (Box–Muller).
fn normal(rng: &mut Rng) -> f64 {
    let u1 = rng.f64().max(1e-300);
    let u2 = rng.f64();
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

/// Number of failures before the first success, with success probability `p`.
fn geometric(rng: &mut Rng, p: f64) -> usize {
    let u = rng.f64().max(1e-300);
    (u.ln() / (1.0 - p).ln()).floor().max(0.0) as usize
}

/// Cumulative sums of `weights`, normalised to end at 1.
fn cdf(weights: impl Iterator<Item = f64>) -> Vec<f64> {
    let mut acc = 0.0;
    let mut out: Vec<f64> = weights
        .map(|w| {
            acc += w;
            acc
        })
        .collect();
    if acc > 0.0 {
        out.iter_mut().for_each(|v| *v /= acc);
    }
    out
}

/// Index drawn from a CDF.
fn draw(rng: &mut Rng, cdf: &[f64]) -> usize {
    let u = rng.f64();
    cdf.partition_point(|&c| c <= u).min(cdf.len().saturating_sub(1))
}

/// Zipf weights `1 / rank^s` for a random permutation of `n` items.
fn zipf_weights(rng: &mut Rng, n: usize, s: f64) -> Vec<f64> {
    let mut ranks: Vec<usize> = (0..n).collect();
    rng.shuffle(&mut ranks);
    ranks.iter().map(|&r| 1.0 / ((r + 1) as f64).powf(s)).collect()
}

fn id_width(n: usize) -> usize {
    n.saturating_sub(1).max(1).to_string().len()
}

/// Everything drawn once: items, their popularity, users.
struct World {
    item_ids: Vec<String>,
    item_category: Vec<u8>,
    created_at: Vec<i64>,
    global_cdf: Vec<f64>,
    category_items: Vec<Vec<u32>>,
    category_cdf: Vec<Vec<f64>>,
    user_ids: Vec<String>,
    user_cdf: Vec<f64>,
    favourites: Vec<[u8; 2]>,
    day_cdf: Vec<f64>,
    hour_cdf: Vec<f64>,
}

/// The seeded generator: build it, take the catalogue, then draw event batches until
/// [`Generator::next_batch`] returns `None`.
pub(super) struct Generator {
    config: SyntheticConfig,
    world: World,
    catalogue: SyntheticCatalogue,
    rng: Rng,
    produced: usize,
    session: u64,
    pending: EventBatch,
}

impl Generator {
    /// Draws the catalogue, item popularity and users for `config`.
    pub(super) fn new(config: SyntheticConfig) -> Self {
        let n_items = config.items.max(1);
        let n_users = config.user_count();
        let mut rng = Rng::with_seed(config.seed);
        let category_cdf_top = cdf((0..CATEGORIES.len()).map(|c| 1.0 / ((c + 1) as f64).powf(0.8)));
        let category_median: Vec<f64> = (0..CATEGORIES.len()).map(|_| 1.0 + 3.0 * rng.f64()).collect();
        let brands = (n_items / 50).max(1);
        let brand_cdf = cdf((0..brands).map(|b| 1.0 / (b + 1) as f64));
        let width = id_width(n_items);
        let span = i64::from(config.days.max(1)) * 86_400;
        let mut catalogue = SyntheticCatalogue::default();
        let mut item_category = Vec::with_capacity(n_items);
        for i in 0..n_items {
            let c = draw(&mut rng, &category_cdf_top);
            let sub = rng.usize(..SUBCATEGORIES.len());
            let top = CATEGORIES.get(c).copied().unwrap_or("Home");
            let sub_name = SUBCATEGORIES.get(sub).copied().unwrap_or("Basics");
            let title = format!(
                "{} {} {} {}",
                ADJECTIVES.get(rng.usize(..ADJECTIVES.len())).copied().unwrap_or(""),
                MATERIALS.get(rng.usize(..MATERIALS.len())).copied().unwrap_or(""),
                NOUNS.get(rng.usize(..NOUNS.len())).copied().unwrap_or(""),
                rng.u32(100..10_000)
            );
            let mu = category_median.get(c).copied().unwrap_or(2.5);
            let price = ((mu + 0.7 * normal(&mut rng)).exp() * 100.0).round() / 100.0;
            let created = if rng.f64() < 0.7 {
                config.start - rng.i64(0..2 * 365 * 86_400)
            } else {
                config.start + rng.i64(0..span.max(1))
            };
            catalogue.item_id.push(format!("i{i:0width$}"));
            catalogue.title.push(title);
            catalogue.category.push(format!("{top} > {top} {sub_name}"));
            catalogue.brand.push(format!("Brand {}", draw(&mut rng, &brand_cdf) + 1));
            catalogue.price.push(price.max(0.01));
            catalogue.created_at.push(created);
            item_category.push(c as u8);
        }
        let popularity = zipf_weights(&mut rng, n_items, config.item_zipf);
        let global_cdf = cdf(popularity.iter().copied());
        let mut category_items: Vec<Vec<u32>> = vec![Vec::new(); CATEGORIES.len()];
        for (i, &c) in item_category.iter().enumerate() {
            if let Some(list) = category_items.get_mut(c as usize) {
                list.push(i as u32);
            }
        }
        let category_cdf: Vec<Vec<f64>> = category_items
            .iter()
            .map(|items| cdf(items.iter().map(|&i| popularity.get(i as usize).copied().unwrap_or(0.0))))
            .collect();
        let user_width = id_width(n_users);
        let user_ids: Vec<String> = (0..n_users).map(|u| format!("u{u:0user_width$}")).collect();
        let user_cdf = cdf((0..n_users).map(|_| (1.5 * normal(&mut rng)).exp()));
        let favourites: Vec<[u8; 2]> = (0..n_users)
            .map(|_| [draw(&mut rng, &category_cdf_top) as u8, draw(&mut rng, &category_cdf_top) as u8])
            .collect();
        let days = config.days.max(1) as usize;
        let day_cdf = cdf((0..days).map(|d| {
            let weekday = (d + 6) % 7; // 2023-01-01 was a Sunday: weekday 6 = Sunday, 5 = Saturday.
            let weekend = if weekday >= 5 { 1.3 } else { 1.0 };
            weekend * (0.8 + 0.4 * d as f64 / days as f64)
        }));
        const HOURS: [f64; 24] = [
            0.2, 0.1, 0.05, 0.05, 0.05, 0.1, 0.3, 0.6, 0.9, 1.0, 1.1, 1.2, 1.3, 1.2, 1.1, 1.1, 1.2, 1.3, 1.5, 1.7, 1.8,
            1.5, 1.0, 0.5,
        ];
        let hour_cdf = cdf(HOURS.iter().copied());
        let world = World {
            item_ids: catalogue.item_id.clone(),
            item_category,
            created_at: catalogue.created_at.clone(),
            global_cdf,
            category_items,
            category_cdf,
            user_ids,
            user_cdf,
            favourites,
            day_cdf,
            hour_cdf,
        };
        let rng = Rng::with_seed(config.seed.wrapping_add(0x9E37_79B9_7F4A_7C15));
        Self { config, world, catalogue, rng, produced: 0, session: 0, pending: EventBatch::default() }
    }

    /// The catalogue.
    pub(super) fn catalogue(&self) -> &SyntheticCatalogue {
        &self.catalogue
    }

    /// An item from category `c` by popularity (global when the category is empty).
    fn item_in(&mut self, c: usize) -> u32 {
        let (Some(items), Some(cdf)) = (self.world.category_items.get(c), self.world.category_cdf.get(c)) else {
            return draw(&mut self.rng, &self.world.global_cdf) as u32;
        };
        if items.is_empty() {
            return draw(&mut self.rng, &self.world.global_cdf) as u32;
        }
        items.get(draw(&mut self.rng, cdf)).copied().unwrap_or(0)
    }

    /// Draws one session into `self.pending`.
    fn session(&mut self) {
        let user = draw(&mut self.rng, &self.world.user_cdf);
        let day = draw(&mut self.rng, &self.world.day_cdf) as i64;
        let hour = draw(&mut self.rng, &self.world.hour_cdf) as i64;
        let mut t = self.config.start + day * 86_400 + hour * 3_600 + self.rng.i64(0..3_600);
        let views = (1 + geometric(&mut self.rng, 0.25)).min(50);
        let favourites = self.world.favourites.get(user).copied().unwrap_or([0, 0]);
        let session_id = format!("s{}", self.session);
        self.session += 1;
        let user_id = self.world.user_ids.get(user).cloned().unwrap_or_default();
        let mut previous: Option<u32> = None;
        for _ in 0..views {
            // Items launched after the session are re-drawn (a few tries).
            let mut item = 0u32;
            for _ in 0..4 {
                let roll = self.rng.f64();
                item = match previous {
                    Some(p) if roll >= 0.8 => {
                        let c = self.world.item_category.get(p as usize).copied().unwrap_or(0) as usize;
                        self.item_in(c)
                    }
                    _ if roll < 0.35 => draw(&mut self.rng, &self.world.global_cdf) as u32,
                    _ => {
                        let fav = favourites.get(self.rng.usize(..2)).copied().unwrap_or(0) as usize;
                        self.item_in(fav)
                    }
                };
                if self.world.created_at.get(item as usize).is_none_or(|&c| c <= t) {
                    break;
                }
            }
            previous = Some(item);
            let item_id = self.world.item_ids.get(item as usize).cloned().unwrap_or_default();
            self.pending.push(&user_id, &item_id, "view", t, 1, &session_id);
            t += self.rng.i64(10..300);
            if self.rng.f64() < 0.25 {
                self.pending.push(&user_id, &item_id, "cart", t, 1, &session_id);
                t += self.rng.i64(10..120);
                if self.rng.f64() < 0.6 {
                    let quantity = 1 + geometric(&mut self.rng, 0.6) as i64;
                    self.pending.push(&user_id, &item_id, "purchase", t, quantity, &session_id);
                    if self.rng.f64() < 0.02 {
                        let later = t + self.rng.i64(3 * 86_400..30 * 86_400);
                        self.pending.push(&user_id, &item_id, "return", later, quantity, &session_id);
                    }
                }
            }
        }
    }

    /// The next batch of at most `max_rows` events (sessions are cut only at the very
    /// end, to hit the exact event count); `None` when all events are out.
    pub(super) fn next_batch(&mut self, max_rows: usize) -> Option<EventBatch> {
        let max_rows = max_rows.max(1);
        let remaining = self.config.events.saturating_sub(self.produced);
        if remaining == 0 {
            return None;
        }
        let want = max_rows.min(remaining);
        while self.pending.len() < want {
            self.session();
        }
        let mut batch = std::mem::take(&mut self.pending);
        if batch.len() > want {
            let split = |v: &mut Vec<String>| v.split_off(want);
            self.pending = EventBatch {
                user_id: split(&mut batch.user_id),
                item_id: split(&mut batch.item_id),
                event_type: split(&mut batch.event_type),
                timestamp: batch.timestamp.split_off(want),
                quantity: batch.quantity.split_off(want),
                session_id: split(&mut batch.session_id),
            };
        }
        self.produced += batch.len();
        Some(batch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small(seed: u64) -> SyntheticConfig {
        SyntheticConfig { events: 5_000, items: 800, users: 0, seed, ..SyntheticConfig::default() }
    }

    fn all_events(config: SyntheticConfig, batch: usize) -> EventBatch {
        let mut g = Generator::new(config);
        let mut out = EventBatch::default();
        while let Some(b) = g.next_batch(batch) {
            out.user_id.extend(b.user_id);
            out.item_id.extend(b.item_id);
            out.event_type.extend(b.event_type);
            out.timestamp.extend(b.timestamp);
            out.quantity.extend(b.quantity);
            out.session_id.extend(b.session_id);
        }
        out
    }

    #[test]
    fn same_seed_same_rows_whatever_the_batch_size() {
        let a = all_events(small(7), 1_000);
        let b = all_events(small(7), 333);
        assert_eq!(a, b);
        assert_eq!(a.len(), 5_000);
        assert_eq!(Generator::new(small(7)).catalogue(), Generator::new(small(7)).catalogue());
        let c = all_events(small(8), 1_000);
        assert_ne!(a, c, "another seed gives other rows");
    }

    #[test]
    fn looks_like_retail() {
        let config = small(3);
        let g = Generator::new(config.clone());
        let cat = g.catalogue();
        assert_eq!(cat.item_id.len(), 800);
        assert!(cat.price.iter().all(|&p| p > 0.0 && p.is_finite()));
        assert!(cat.category.iter().all(|c| c.contains(" > ")));
        let events = all_events(config.clone(), 10_000);
        let end = config.start + i64::from(config.days) * 86_400 + 31 * 86_400;
        assert!(events.timestamp.iter().all(|&t| t >= config.start && t < end));
        // Zipf popularity: the 10 % most viewed items take well over 10 % of the views.
        let mut counts = std::collections::HashMap::new();
        for item in &events.item_id {
            *counts.entry(item.as_str()).or_insert(0usize) += 1;
        }
        let mut c: Vec<usize> = counts.values().copied().collect();
        c.sort_unstable_by(|a, b| b.cmp(a));
        let head: usize = c.iter().take(80).sum();
        assert!(head * 100 / events.len() > 30, "head share {head}/{}", events.len());
        // Long-tailed users: the busiest user has many times the median activity.
        let mut per_user = std::collections::HashMap::new();
        for u in &events.user_id {
            *per_user.entry(u.as_str()).or_insert(0usize) += 1;
        }
        let mut a: Vec<usize> = per_user.values().copied().collect();
        a.sort_unstable();
        let median = a.get(a.len() / 2).copied().unwrap_or(0);
        assert!(a.last().copied().unwrap_or(0) > 5 * median.max(1));
        // All four event types occur, and views dominate.
        let views = events.event_type.iter().filter(|t| *t == "view").count();
        let purchases = events.event_type.iter().filter(|t| *t == "purchase").count();
        assert!(views > purchases && purchases > 0);
    }
}
