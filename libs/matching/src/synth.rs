//! Synthetic people, for benchmarks, model estimates and tests: names from
//! several scripts and naming conventions (Cyrillic and Greek names with
//! their passport and English spellings, Arabic names in their common Latin
//! spellings, Spanish double surnames, Chinese names often written family
//! name first), dates of birth, addresses and passport numbers; and
//! *variants* of a person as another record of them would show them:
//! transliterated, misspelt, swapped, a middle name dropped, day and month
//! swapped, a year alone. Everything follows from the seed.

use std::sync::LazyLock;

use crate::record::{Address, Identifier, Record};
use crate::rng::Rng;

/// A name in its own script, its passport (ICAO) spelling and a common
/// other Latin spelling.
type Name = (&'static str, &'static str, &'static str);

struct Culture {
    nationality: &'static str,
    male: &'static [Name],
    female: &'static [Name],
    surnames: &'static [Name],
    /// Two surnames, as Spanish names have.
    double_surname: bool,
    /// Often written family name first.
    family_first: bool,
    /// Stems and endings from which the culture's long tail of surnames is
    /// made (`Ash` + `worth`, `Бел` + `ов`), so that a million people are
    /// not a few hundred names.
    stems: &'static [Name],
    endings: &'static [Name],
}

const fn n(native: &'static str, latin: &'static str, other: &'static str) -> Name {
    (native, latin, other)
}

macro_rules! latin {
    ($($name:literal),* $(,)?) => { &[$(($name, $name, $name)),*] };
}

static CULTURES: &[Culture] = &[
    Culture {
        nationality: "GBR",
        male: latin![
            "James", "John", "Robert", "Michael", "William", "David", "Richard", "Thomas",
            "Charles", "Oliver", "Harry", "George", "Jack", "Daniel", "Matthew", "Samuel",
            "Joseph", "Edward", "Peter", "Andrew"
        ],
        female: latin![
            "Mary",
            "Elizabeth",
            "Sarah",
            "Emily",
            "Olivia",
            "Amelia",
            "Isla",
            "Sophie",
            "Charlotte",
            "Jessica",
            "Hannah",
            "Lucy",
            "Grace",
            "Rebecca",
            "Laura",
            "Emma",
            "Rachel",
            "Katherine",
            "Victoria",
            "Alice"
        ],
        surnames: latin![
            "Smith", "Jones", "Taylor", "Williams", "Brown", "Davies", "Evans", "Wilson", "Thomas",
            "Roberts", "Johnson", "Lewis", "Walker", "Robinson", "Wood", "Thompson", "White",
            "Watson", "Jackson", "Wright", "Green", "Harris", "Cooper", "King", "Lee", "Martin",
            "Clarke", "Morgan", "Hughes", "Edwards"
        ],
        double_surname: false,
        family_first: false,
        stems: latin![
            "Ash", "Black", "Brad", "Cal", "Clay", "Fair", "Hart", "Hol", "Kings", "Lang", "Mar",
            "Mill", "North", "Red", "Shel", "Stan", "Thorn", "West", "Whit", "Wood", "Bram",
            "Craw", "Dun", "Elm", "Fern", "Glad", "Hamp", "Lock", "Pen", "Rad"
        ],
        endings: latin![
            "ley", "ton", "ford", "field", "wood", "well", "by", "worth", "ham", "stone", "bridge",
            "more", "croft", "dale", "land", "hurst", "wick", "combe", "shaw", "brook"
        ],
    },
    Culture {
        nationality: "RUS",
        male: &[
            n("Александр", "Aleksandr", "Alexander"),
            n("Алексей", "Aleksei", "Alexey"),
            n("Дмитрий", "Dmitrii", "Dmitry"),
            n("Сергей", "Sergei", "Sergey"),
            n("Андрей", "Andrei", "Andrey"),
            n("Иван", "Ivan", "Ivan"),
            n("Михаил", "Mikhail", "Mikhail"),
            n("Николай", "Nikolai", "Nikolay"),
            n("Юрий", "Iurii", "Yuri"),
            n("Евгений", "Evgenii", "Yevgeny"),
        ],
        female: &[
            n("Ольга", "Olga", "Olga"),
            n("Елена", "Elena", "Yelena"),
            n("Наталья", "Natalia", "Natalya"),
            n("Татьяна", "Tatiana", "Tatyana"),
            n("Анна", "Anna", "Anna"),
            n("Мария", "Mariia", "Maria"),
            n("Екатерина", "Ekaterina", "Yekaterina"),
            n("Юлия", "Iuliia", "Yulia"),
            n("Ксения", "Kseniia", "Ksenia"),
            n("Светлана", "Svetlana", "Svetlana"),
        ],
        surnames: &[
            n("Иванов", "Ivanov", "Ivanov"),
            n("Смирнов", "Smirnov", "Smirnoff"),
            n("Кузнецов", "Kuznetsov", "Kuznetsov"),
            n("Попов", "Popov", "Popov"),
            n("Васильев", "Vasilev", "Vasiliev"),
            n("Петров", "Petrov", "Petrov"),
            n("Соколов", "Sokolov", "Sokolov"),
            n("Михайлов", "Mikhailov", "Mikhaylov"),
            n("Новиков", "Novikov", "Novikov"),
            n("Фёдоров", "Fedorov", "Fyodorov"),
            n("Морозов", "Morozov", "Morozov"),
            n("Волков", "Volkov", "Volkov"),
            n("Алексеев", "Alekseev", "Alexeev"),
            n("Лебедев", "Lebedev", "Lebedev"),
            n("Семёнов", "Semenov", "Semyonov"),
            n("Егоров", "Egorov", "Yegorov"),
        ],
        double_surname: false,
        family_first: false,
        stems: &[
            n("Бел", "Bel", "Bel"),
            n("Гром", "Grom", "Grom"),
            n("Жук", "Zhuk", "Zhuk"),
            n("Зайц", "Zaits", "Zaits"),
            n("Комар", "Komar", "Komar"),
            n("Лис", "Lis", "Lis"),
            n("Медвед", "Medved", "Medved"),
            n("Орл", "Orl", "Orl"),
            n("Рыб", "Ryb", "Ryb"),
            n("Сух", "Sukh", "Sukh"),
            n("Тих", "Tikh", "Tikh"),
            n("Шум", "Shum", "Shum"),
            n("Дуб", "Dub", "Dub"),
            n("Гусе", "Guse", "Guse"),
            n("Кисел", "Kisel", "Kisel"),
            n("Мирон", "Miron", "Miron"),
            n("Ковал", "Koval", "Koval"),
            n("Журавл", "Zhuravl", "Zhuravl"),
            n("Соболь", "Sobol", "Sobol"),
            n("Шапошник", "Shaposhnik", "Shaposhnik"),
        ],
        endings: &[
            n("ов", "ov", "ov"),
            n("ин", "in", "in"),
            n("ский", "skii", "sky"),
            n("енко", "enko", "enko"),
            n("ёв", "ev", "yov"),
        ],
    },
    Culture {
        nationality: "GRC",
        male: &[
            n("Γεώργιος", "Georgios", "George"),
            n("Δημήτριος", "Dimitrios", "Dimitris"),
            n("Κωνσταντίνος", "Konstantinos", "Constantinos"),
            n("Ιωάννης", "Ioannis", "Yannis"),
            n("Νικόλαος", "Nikolaos", "Nikolas"),
            n("Παναγιώτης", "Panagiotis", "Panayiotis"),
            n("Χρήστος", "Christos", "Christos"),
            n("Αθανάσιος", "Athanasios", "Thanasis"),
        ],
        female: &[
            n("Μαρία", "Maria", "Maria"),
            n("Ελένη", "Eleni", "Helen"),
            n("Αικατερίνη", "Aikaterini", "Katerina"),
            n("Σοφία", "Sofia", "Sophia"),
            n("Βασιλική", "Vasiliki", "Vassiliki"),
            n("Γεωργία", "Georgia", "Georgia"),
            n("Δήμητρα", "Dimitra", "Demetra"),
            n("Ευαγγελία", "Evangelia", "Evangelia"),
        ],
        surnames: &[
            n("Παπαδόπουλος", "Papadopoulos", "Papadopoulos"),
            n("Παπαγεωργίου", "Papageorgiou", "Papageorgiou"),
            n("Οικονόμου", "Oikonomou", "Economou"),
            n("Γεωργίου", "Georgiou", "Georgiou"),
            n("Νικολάου", "Nikolaou", "Nicolaou"),
            n("Βασιλείου", "Vasileiou", "Vassiliou"),
            n("Καραγιάννης", "Karagiannis", "Karayannis"),
            n("Αλεξίου", "Alexiou", "Alexiou"),
            n("Μακρής", "Makris", "Makris"),
            n("Δημητρίου", "Dimitriou", "Demetriou"),
        ],
        double_surname: false,
        family_first: false,
        stems: &[
            n("Κωστ", "Kost", "Cost"),
            n("Παππ", "Papp", "Papp"),
            n("Μαυρ", "Mavr", "Mavr"),
            n("Λαμπρ", "Lampr", "Lampr"),
            n("Σταυρ", "Stavr", "Stavr"),
            n("Χατζ", "Chatz", "Hatz"),
            n("Αντων", "Anton", "Anton"),
            n("Πετρ", "Petr", "Petr"),
            n("Γιαννακ", "Giannak", "Yannak"),
            n("Θεοδωρ", "Theodor", "Theodor"),
            n("Μιχαλ", "Michal", "Mihal"),
            n("Σπυρ", "Spyr", "Spir"),
        ],
        endings: &[
            n("όπουλος", "opoulos", "opoulos"),
            n("ίδης", "idis", "ides"),
            n("άκης", "akis", "akis"),
            n("ίου", "iou", "iou"),
        ],
    },
    Culture {
        nationality: "EGY",
        male: &[
            n("محمد", "Mohamed", "Muhammad"),
            n("أحمد", "Ahmed", "Ahmad"),
            n("علي", "Ali", "Aly"),
            n("حسن", "Hassan", "Hasan"),
            n("عمر", "Omar", "Umar"),
            n("يوسف", "Youssef", "Yusuf"),
            n("خالد", "Khaled", "Khalid"),
            n("مصطفى", "Mostafa", "Mustafa"),
        ],
        female: &[
            n("فاطمة", "Fatma", "Fatima"),
            n("عائشة", "Aisha", "Aysha"),
            n("مريم", "Mariam", "Maryam"),
            n("نور", "Nour", "Noor"),
            n("سارة", "Sara", "Sarah"),
            n("ليلى", "Laila", "Layla"),
            n("هدى", "Hoda", "Huda"),
            n("زينب", "Zeinab", "Zainab"),
        ],
        surnames: &[
            n("عبدالله", "Abdalla", "Abdullah"),
            n("حداد", "Haddad", "Hadad"),
            n("منصور", "Mansour", "Mansur"),
            n("سليمان", "Soliman", "Suleiman"),
            n("ابراهيم", "Ibrahim", "Ebrahim"),
            n("خليل", "Khalil", "Khaleel"),
            n("ناصر", "Nasser", "Nasir"),
            n("صالح", "Saleh", "Salih"),
            n("يعقوب", "Yacoub", "Yaqub"),
            n("الحسيني", "Elhusseini", "Al-Husseini"),
        ],
        double_surname: false,
        family_first: false,
        stems: &[],
        endings: &[],
    },
    Culture {
        nationality: "ESP",
        male: latin![
            "José",
            "Juan",
            "Antonio",
            "Francisco",
            "Javier",
            "Manuel",
            "Carlos",
            "Miguel",
            "Alejandro",
            "Pablo"
        ],
        female: latin![
            "María", "Carmen", "Ana", "Lucía", "Isabel", "Pilar", "Laura", "Marta", "Cristina",
            "Elena"
        ],
        surnames: latin![
            "García",
            "Fernández",
            "González",
            "Rodríguez",
            "López",
            "Martínez",
            "Sánchez",
            "Pérez",
            "Gómez",
            "Jiménez",
            "Ruiz",
            "Hernández",
            "Díaz",
            "Moreno",
            "Álvarez"
        ],
        double_surname: true,
        family_first: false,
        stems: &[],
        endings: &[],
    },
    Culture {
        nationality: "CHN",
        male: latin![
            "Wei", "Qiang", "Lei", "Jun", "Jianguo", "Hao", "Yong", "Jie", "Tao", "Ming"
        ],
        female: latin![
            "Fang", "Jing", "Min", "Yan", "Hui", "Lihua", "Xiu", "Ying", "Na", "Li"
        ],
        surnames: latin![
            "Wang", "Li", "Zhang", "Liu", "Chen", "Yang", "Huang", "Zhao", "Wu", "Zhou", "Xu",
            "Sun", "Ma", "Zhu", "Hu"
        ],
        double_surname: false,
        family_first: true,
        stems: &[],
        endings: &[],
    },
    Culture {
        nationality: "POL",
        male: latin![
            "Piotr",
            "Krzysztof",
            "Andrzej",
            "Tomasz",
            "Paweł",
            "Michał",
            "Marcin",
            "Jakub",
            "Łukasz",
            "Grzegorz"
        ],
        female: latin![
            "Anna",
            "Katarzyna",
            "Małgorzata",
            "Agnieszka",
            "Barbara",
            "Ewa",
            "Magdalena",
            "Joanna",
            "Zofia",
            "Monika"
        ],
        surnames: latin![
            "Nowak",
            "Kowalski",
            "Wiśniewski",
            "Wójcik",
            "Kowalczyk",
            "Kamiński",
            "Lewandowski",
            "Zieliński",
            "Szymański",
            "Woźniak",
            "Dąbrowski",
            "Kozłowski"
        ],
        double_surname: false,
        family_first: false,
        stems: latin![
            "Kowal", "Nowic", "Wiśni", "Lewand", "Kamin", "Zielin", "Szyman", "Dąbrow", "Kozł",
            "Jankow", "Mazur", "Kwiat", "Krawcz", "Piotrow", "Grabow", "Pawłow", "Michal", "Król",
            "Wiecz", "Jabłon"
        ],
        endings: latin!["ski", "czyk", "ak", "ewicz", "owski"],
    },
    Culture {
        nationality: "IND",
        male: latin![
            "Aarav", "Vivaan", "Aditya", "Arjun", "Rahul", "Sanjay", "Deepak", "Vikram", "Rohan",
            "Anil"
        ],
        female: latin![
            "Priya", "Ananya", "Diya", "Sunita", "Lakshmi", "Kavya", "Neha", "Pooja", "Meera",
            "Anjali"
        ],
        surnames: latin![
            "Patel", "Sharma", "Singh", "Kumar", "Gupta", "Shah", "Mehta", "Reddy", "Iyer", "Nair",
            "Chopra", "Joshi"
        ],
        double_surname: false,
        family_first: false,
        stems: &[],
        endings: &[],
    },
    Culture {
        nationality: "NGA",
        male: latin![
            "Oluwaseun",
            "Chinedu",
            "Adebayo",
            "Emeka",
            "Tunde",
            "Ifeanyi",
            "Babatunde",
            "Chukwuemeka",
            "Olumide",
            "Obinna"
        ],
        female: latin![
            "Ngozi",
            "Folasade",
            "Chiamaka",
            "Yetunde",
            "Adaeze",
            "Funmilayo",
            "Nkechi",
            "Temitope",
            "Ifeoma",
            "Bukola"
        ],
        surnames: latin![
            "Okafor", "Adeyemi", "Okonkwo", "Oladipo", "Eze", "Nwosu", "Balogun", "Ogunleye",
            "Chukwu", "Adewale", "Okoro", "Afolabi"
        ],
        double_surname: false,
        family_first: false,
        stems: latin![
            "Olu", "Ade", "Oke", "Ola", "Ayo", "Obi", "Ife", "Femi", "Bola", "Tola", "Kola", "Dayo"
        ],
        endings: latin![
            "wale", "yemi", "kunle", "femi", "sanya", "dipe", "goke", "nuga", "bayo", "tunde"
        ],
    },
];

/// Each culture's made surnames: every stem with every ending, in each
/// of the three spellings.
static MADE_SURNAMES: LazyLock<Vec<Vec<(String, String, String)>>> = LazyLock::new(|| {
    CULTURES
        .iter()
        .map(|c| {
            c.stems
                .iter()
                .flat_map(|s| {
                    c.endings.iter().map(move |e| {
                        (
                            format!("{}{}", s.0, e.0),
                            format!("{}{}", s.1, e.1),
                            format!("{}{}", s.2, e.2),
                        )
                    })
                })
                .collect()
        })
        .collect()
});
static STREETS: &[&str] = &[
    "High Street",
    "Station Road",
    "Church Lane",
    "Park Avenue",
    "Victoria Road",
    "Mill Lane",
    "Green Close",
    "Queens Road",
    "London Road",
    "Manor Way",
];
static TOWNS: &[&str] = &[
    "Leeds", "Bristol", "Croydon", "Reading", "Luton", "Swindon", "Derby", "Bolton", "Ipswich",
    "Exeter", "Norwich", "Slough", "Wigan", "Preston", "Carlisle",
];

/// A synthetic person: their true record and what variants are made from.
#[derive(Debug, Clone)]
pub struct Person {
    /// Their record, as their passport would give it.
    pub record: Record,
    culture: usize,
    given: Vec<Name>,
    surnames: Vec<Name>,
}

/// A generator of people and variants.
#[derive(Debug, Clone)]
pub struct Population {
    rng: Rng,
}

impl Population {
    /// A generator from `seed`.
    pub fn new(seed: u64) -> Self {
        Self {
            rng: Rng::new(seed),
        }
    }

    /// A new person.
    pub fn person(&mut self) -> Person {
        let rng = &mut self.rng;
        let culture = rng.below(CULTURES.len());
        let c = &CULTURES[culture];
        let female = rng.chance(0.5);
        let names = if female { c.female } else { c.male };
        let mut given = vec![*rng.pick(names)];
        if rng.chance(0.35) {
            let middle = *rng.pick(names);
            if middle != given[0] {
                given.push(middle);
            }
        }
        let made = &MADE_SURNAMES[culture];
        let mut surnames = vec![if !made.is_empty() && rng.chance(0.6) {
            let (native, latin, other) = rng.pick(made);
            (native.as_str(), latin.as_str(), other.as_str())
        } else {
            *rng.pick(c.surnames)
        }];
        if c.double_surname {
            surnames.push(*rng.pick(c.surnames));
        }
        let year = 1930 + rng.below(78);
        let month = 1 + rng.below(12);
        let day = 1 + rng.below(28);
        let mut identifiers = Vec::new();
        if rng.chance(0.6) {
            identifiers.push(passport(rng, c.nationality));
        }
        let address = rng.chance(0.7).then(|| address(rng));
        let spell = |names: &[Name]| names.iter().map(|n| n.1).collect::<Vec<_>>().join(" ");
        Person {
            record: Record {
                given_names: spell(&given),
                surname: spell(&surnames),
                date_of_birth: Some(format!("{year:04}-{month:02}-{day:02}")),
                sex: Some(if female { "F" } else { "M" }.to_owned()),
                nationality: Some(c.nationality.to_owned()),
                address,
                identifiers,
            },
            culture,
            given,
            surnames,
        }
    }

    /// Another record of `person`, with one or two of the variations other
    /// sources show; returns it with the variations' names.
    pub fn variant(&mut self, person: &Person) -> (Record, Vec<&'static str>) {
        let mut record = person.record.clone();
        let mut made = Vec::new();
        let count = 1 + usize::from(self.rng.chance(0.4));
        for _ in 0..count {
            let variation = self.vary(person, &mut record);
            made.push(variation);
        }
        (record, made)
    }

    fn vary(&mut self, person: &Person, record: &mut Record) -> &'static str {
        let rng = &mut self.rng;
        let c = &CULTURES[person.culture];
        let join = |names: &[Name], pick: fn(&Name) -> &'static str| {
            names.iter().map(pick).collect::<Vec<_>>().join(" ")
        };
        match rng.below(10) {
            0 if person.given[0].0 != person.given[0].1 => {
                record.given_names = join(&person.given, |n| n.0);
                record.surname = join(&person.surnames, |n| n.0);
                "native_script"
            }
            0 | 1 => {
                record.given_names = join(&person.given, |n| n.2);
                record.surname = join(&person.surnames, |n| n.2);
                "other_spelling"
            }
            2 => {
                let target = if rng.chance(0.5) {
                    &mut record.given_names
                } else {
                    &mut record.surname
                };
                *target = typo(rng, target);
                "typo"
            }
            3 if c.family_first || rng.chance(0.3) => {
                std::mem::swap(&mut record.given_names, &mut record.surname);
                "names_swapped"
            }
            3 | 4 if person.given.len() > 1 => {
                record.given_names = person.given[0].1.to_owned();
                "middle_name_dropped"
            }
            3 | 4 if person.surnames.len() > 1 => {
                record.surname = person.surnames[0].1.to_owned();
                "second_surname_dropped"
            }
            5 | 6 if record.date_of_birth.as_ref().is_none_or(|d| d.len() != 10) => {
                record.sex = None;
                "no_sex"
            }
            5 => {
                let dob = record.date_of_birth.clone().unwrap_or_default();
                let (year, month, day) = (&dob[..4], &dob[5..7], &dob[8..10]);
                if day <= "12" && day != month {
                    record.date_of_birth = Some(format!("{year}-{day}-{month}"));
                    "day_month_swapped"
                } else {
                    record.date_of_birth = Some(year.to_owned());
                    "year_only"
                }
            }
            6 => {
                let dob = record.date_of_birth.clone().unwrap_or_default();
                let mut digits: Vec<char> = dob.chars().collect();
                // One digit of month or day off by one (still a valid date).
                let at = *rng.pick(&[6usize, 9]);
                let d = digits[at].to_digit(10).unwrap_or(1);
                digits[at] =
                    char::from_digit(if d >= 2 { d - 1 } else { d + 1 }, 10).unwrap_or('1');
                record.date_of_birth = Some(digits.into_iter().collect());
                "one_digit"
            }
            7 => {
                record.date_of_birth = record.date_of_birth.as_ref().map(|d| d[..4].to_owned());
                "year_only"
            }
            8 => {
                record.address = None;
                record.identifiers.clear();
                "no_address_or_identifiers"
            }
            _ => match rng.below(3) {
                0 => {
                    record.sex = None;
                    record.nationality = None;
                    "no_sex_or_nationality"
                }
                1 => {
                    record.address = Some(address(rng));
                    "moved"
                }
                _ => {
                    let renewed = passport(rng, c.nationality);
                    record.identifiers = vec![renewed];
                    "new_passport"
                }
            },
        }
    }
}

fn passport(rng: &mut Rng, nationality: &str) -> Identifier {
    Identifier {
        scheme: format!("passport:{nationality}"),
        value: (0..9)
            .map(|_| char::from(b"0123456789ABCDEFGHJKLMNPRSTUVWXYZ"[rng.below(33)]))
            .collect(),
    }
}

fn address(rng: &mut Rng) -> Address {
    Address {
        lines: vec![format!("{} {}", 1 + rng.below(200), rng.pick(STREETS))],
        locality: Some((*rng.pick(TOWNS)).to_owned()),
        postcode: Some(format!(
            "{}{}{} {}{}{}",
            char::from(b'A' + rng.below(26) as u8),
            char::from(b'A' + rng.below(26) as u8),
            1 + rng.below(20),
            rng.below(10),
            char::from(b'A' + rng.below(26) as u8),
            char::from(b'A' + rng.below(26) as u8),
        )),
    }
}

/// One letter of a Latin name substituted, dropped or swapped with its
/// neighbour (names in other scripts are left alone).
fn typo(rng: &mut Rng, name: &str) -> String {
    let mut chars: Vec<char> = name.chars().collect();
    if chars.len() < 4 || !chars.iter().all(char::is_ascii) {
        return name.to_owned();
    }
    let at = 1 + rng.below(chars.len() - 2);
    match rng.below(3) {
        0 => chars[at] = char::from(b'a' + rng.below(26) as u8),
        1 => {
            chars.remove(at);
        }
        _ => chars.swap(at, at + 1),
    }
    chars.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_makes_the_same_people() {
        let a: Vec<Record> = (0..50)
            .map(|_| Population::new(7).person().record)
            .collect();
        let mut population = Population::new(7);
        let b = population.person().record;
        assert_eq!(a[0], b);
        let mut population = Population::new(7);
        let people: Vec<Person> = (0..200).map(|_| population.person()).collect();
        let scripts = people
            .iter()
            .filter(|p| p.given[0].0 != p.given[0].1)
            .count();
        assert!(
            scripts > 20,
            "{scripts} of 200 have names in another script"
        );
        let (variant, made) = population.variant(&people[0]);
        assert!(!made.is_empty());
        assert!(variant != people[0].record || made.iter().any(|m| m.starts_with("no_")));
    }
}
