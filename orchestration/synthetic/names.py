"""Name and address material for the generator: Chinese and Western customers."""

# (characters, pinyin) so Chinese customers get plausible romanised e-mail addresses.
CHINESE_SURNAMES = [
    ("王", "wang"), ("李", "li"), ("张", "zhang"), ("刘", "liu"), ("陈", "chen"), ("杨", "yang"),
    ("黄", "huang"), ("赵", "zhao"), ("吴", "wu"), ("周", "zhou"), ("徐", "xu"), ("孙", "sun"),
    ("马", "ma"), ("朱", "zhu"), ("胡", "hu"), ("郭", "guo"), ("何", "he"), ("林", "lin"),
    ("欧阳", "ouyang"), ("司马", "sima"),
]
CHINESE_GIVEN = [
    ("伟", "wei"), ("芳", "fang"), ("娜", "na"), ("秀英", "xiuying"), ("敏", "min"), ("静", "jing"),
    ("丽", "li"), ("强", "qiang"), ("磊", "lei"), ("军", "jun"), ("洋", "yang"), ("勇", "yong"),
    ("艳", "yan"), ("杰", "jie"), ("娟", "juan"), ("涛", "tao"), ("明", "ming"), ("超", "chao"),
    ("秀兰", "xiulan"), ("霞", "xia"), ("平", "ping"), ("刚", "gang"), ("桂英", "guiying"), ("子涵", "zihan"),
]
CHINESE_CITIES = [
    ("北京市", "朝阳区", "建国路"), ("上海市", "浦东新区", "世纪大道"), ("广州市", "天河区", "天河路"),
    ("深圳市", "南山区", "科技园路"), ("杭州市", "西湖区", "文三路"), ("成都市", "武侯区", "人民南路"),
    ("南京市", "鼓楼区", "中山北路"), ("武汉市", "江汉区", "解放大道"),
]
WESTERN_FIRST = [
    "James", "Mary", "John", "Patricia", "Robert", "Jennifer", "Michael", "Linda", "William", "Elizabeth",
    "David", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah", "Charles", "Karen",
    "Zoë", "Seán", "José", "Renée",
]
WESTERN_LAST = [
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Wilson", "Taylor",
    "Anderson", "Thomas", "Moore", "Martin", "Jackson", "Thompson", "White", "Harris", "O'Brien", "Clark",
]
WESTERN_CITIES = [
    ("London", "High Street"), ("Manchester", "Deansgate"), ("Leeds", "Briggate"), ("Bristol", "Park Street"),
    ("Edinburgh", "Princes Street"), ("Cardiff", "Queen Street"),
]
EMAIL_DOMAINS = ["gmail.com", "qq.com", "163.com", "outlook.com", "yahoo.co.uk", "icloud.com"]
# Names that trip naive parsers: quotes, commas, emoji, SQL fragments.
AWKWARD_NAMES = [
    'Anne "Annie" Lee', "Smith, John", "Robert'); DROP TABLE customers;--", "李雷 🙂", "O'Connor, Siobhán",
]
