//! The priority a message gets when its request names none: from its category.

use postamt_wire::Priority;
use std::collections::HashMap;

/// `--category-priority otp=high`: one category's default priority.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CategoryPriority {
    pub category: String,
    pub priority: Priority,
}

impl std::str::FromStr for CategoryPriority {
    type Err = String;

    fn from_str(value: &str) -> Result<Self, String> {
        let (category, priority) =
            value.split_once('=').ok_or_else(|| format!("{value:?}: expected category=high|normal|low"))?;
        let category = category.trim();
        if category.is_empty() {
            return Err(format!("{value:?}: the category is empty"));
        }
        let priority = Priority::parse(priority.trim())
            .ok_or_else(|| format!("{value:?}: the priority must be high, normal or low"))?;
        Ok(CategoryPriority { category: category.to_owned(), priority })
    }
}

/// Categories whose messages are urgent unless configured otherwise.
const HIGH_BY_DEFAULT: [&str; 2] = ["otp", "alert"];

/// Each category's default priority: `otp` and `alert` high, the rest normal, then the
/// configured ones on top.
#[derive(Debug, Clone)]
pub struct CategoryPriorities(HashMap<String, Priority>);

impl CategoryPriorities {
    pub fn new(configured: &[CategoryPriority]) -> CategoryPriorities {
        let defaults = HIGH_BY_DEFAULT.iter().map(|c| ((*c).to_owned(), Priority::High));
        let configured = configured.iter().map(|c| (c.category.clone(), c.priority));
        CategoryPriorities(defaults.chain(configured).collect())
    }

    pub fn of(&self, category: &str) -> Priority {
        self.0.get(category).copied().unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn otp_is_high_and_configuration_overrides() {
        let none = CategoryPriorities::new(&[]);
        assert_eq!(none.of("otp"), Priority::High);
        assert_eq!(none.of("finance"), Priority::Normal);
        let configured: Vec<CategoryPriority> =
            ["otp=normal", "newsletter = low"].iter().map(|v| v.parse().unwrap()).collect();
        let configured = CategoryPriorities::new(&configured);
        assert_eq!(configured.of("otp"), Priority::Normal);
        assert_eq!(configured.of("newsletter"), Priority::Low);
        assert!("otp".parse::<CategoryPriority>().is_err());
        assert!("otp=urgent".parse::<CategoryPriority>().is_err());
    }
}
