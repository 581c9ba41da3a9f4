#!/usr/bin/env python3
"""Generates the labelled evaluation corpus for the AirlockDetect scanner.

    pip install faker            # names and street addresses per locale (MIT licence)
    python3 scripts/detect/gen_corpus.py > Corpus/detect/eval.jsonl

Each line: {"id", "lang", "kind", "text", "spans": [{"type","start","end"}]} with offsets in
Unicode code points, end exclusive. Every identifier is generated with valid check digits
(implemented here independently of the Swift code); hard negatives carry no spans. The
generator is seeded, so the output is reproducible.

Label conventions (what the scanner is expected to mark):
- PERSON: the name only, without titles or honorifics (Mr., 님, 先生, さん).
- PHONE_NUMBER: from the leading + or ( through the last digit.
- STREET_ADDRESS: US from the house number through the ZIP code (or street suffix);
  KR from the first administrative unit through the building number (and 동/호 details).
- DATE_OF_BIRTH: the date only, and only with birth context.
"""
import base64, hashlib, json, random, string, sys

from faker import Faker

R = random.Random(20240603)
FK = {loc: Faker(loc) for loc in ("en_US", "ko_KR", "zh_CN", "ja_JP")}
for i, f in enumerate(FK.values()):
    f.seed_instance(1000 + i)

def digits(n): return "".join(R.choice(string.digits) for _ in range(n))

# ---------- check-digit generators ----------
def luhn_complete(prefix, length):
    body = prefix + digits(length - len(prefix) - 1)
    total = 0
    for i, ch in enumerate(reversed(body)):
        v = int(ch)
        if i % 2 == 0:
            v *= 2
            if v > 9: v -= 9
        total += v
    return body + str((10 - total % 10) % 10)

def luhn_ok(s):
    t = 0
    for i, ch in enumerate(reversed(s)):
        v = int(ch)
        if i % 2 == 1:
            v *= 2
            if v > 9: v -= 9
        t += v
    return t % 10 == 0

def card():
    kind = R.choice(["visa", "visa", "mc", "mc2", "amex", "disc", "jcb"])
    if kind == "visa": n = luhn_complete("4", 16)
    elif kind == "mc": n = luhn_complete(str(R.randint(51, 55)), 16)
    elif kind == "mc2": n = luhn_complete(str(R.randint(2221, 2720)), 16)
    elif kind == "amex": n = luhn_complete(R.choice(["34", "37"]), 15)
    elif kind == "disc": n = luhn_complete("6011", 16)
    else: n = luhn_complete("35" + str(R.randint(28, 89)), 16)
    style = R.choice(["space", "dash", "plain"])
    if len(n) == 15:
        parts = [n[:4], n[4:10], n[10:]]
    else:
        parts = [n[i:i + 4] for i in range(0, 16, 4)]
    if style == "space": return " ".join(parts)
    if style == "dash": return "-".join(parts)
    return n

def bad_card():
    n = luhn_complete("4", 16)
    last = (int(n[-1]) + R.randint(1, 9)) % 10
    return " ".join([n[0:4], n[4:8], n[8:12], n[12:15] + str(last)])

IBAN_FMT = {"DE": ("n", 18), "GB": ("GB", 18), "FR": ("n", 23), "NL": ("NL", 14), "ES": ("n", 20), "IT": ("IT", 23), "CH": ("n", 17), "BE": ("n", 12)}
def iban(valid=True, spaced=None):
    cc = R.choice(list(IBAN_FMT))
    kind, blen = IBAN_FMT[cc]
    if kind == "GB": bban = "".join(R.choice(string.ascii_uppercase) for _ in range(4)) + digits(14)
    elif kind == "NL": bban = "".join(R.choice(string.ascii_uppercase) for _ in range(4)) + digits(10)
    elif kind == "IT": bban = R.choice(string.ascii_uppercase) + digits(10) + digits(12)
    else: bban = digits(blen)
    num = "".join(str(int(c, 36)) for c in bban + cc + "00")
    check = 98 - int(num) % 97
    if not valid: check = (check + R.randint(1, 50)) % 97 + 2
    s = cc + "%02d" % check + bban
    if spaced is None: spaced = R.random() < 0.6
    return " ".join(s[i:i + 4] for i in range(0, len(s), 4)) if spaced else s

def rrn(foreigner=False, valid=True, year=None):
    y = year or R.randint(1950, 2019)
    m, d = R.randint(1, 12), R.randint(1, 28)
    if foreigner: g = (5 if y < 2000 else 7) + R.randint(0, 1)
    else: g = (1 if y < 2000 else 3) + R.randint(0, 1)
    body = "%02d%02d%02d%d" % (y % 100, m, d, g) + digits(5)
    w = [2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5]
    s = sum(int(c) * k for c, k in zip(body, w))
    c = ((13 if foreigner else 11) - s % 11) % 10
    if not valid: c = (c + R.randint(1, 9)) % 10
    full = body + str(c)
    return full[:6] + "-" + full[6:]

def brn(valid=True):
    k = [1, 3, 7, 1, 3, 7, 1, 3, 5]
    body = digits(9)
    s = sum(int(c) * w for c, w in zip(body, k)) + int(body[8]) * 5 // 10
    c = (10 - s % 10) % 10
    if not valid: c = (c + R.randint(1, 9)) % 10
    full = body + str(c)
    return "%s-%s-%s" % (full[:3], full[3:5], full[5:])

def cn_id(valid=True):
    area = R.choice(["110101", "310104", "440305", "510107", "330106", "420102"])
    y, m, d = R.randint(1950, 2015), R.randint(1, 12), R.randint(1, 28)
    body = area + "%04d%02d%02d" % (y, m, d) + digits(3)
    w = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    c = (12 - sum(int(a) * b for a, b in zip(body, w)) % 11) % 11
    if not valid: c = (c + R.randint(1, 10)) % 11
    return body + ("X" if c == 10 else str(c))

def my_number(valid=True, style=None):
    body = digits(11)
    w = [6, 5, 4, 3, 2, 7, 6, 5, 4, 3, 2]
    r = sum(int(a) * b for a, b in zip(body, w)) % 11
    c = 0 if r <= 1 else 11 - r
    if not valid: c = (c + R.randint(1, 9)) % 10
    s = body + str(c)
    style = style or R.choice(["space", "dash", "plain"])
    if style == "space": return " ".join([s[:4], s[4:8], s[8:]])
    if style == "dash": return "-".join([s[:4], s[4:8], s[8:]])
    return s

def ssn():
    while True:
        a = R.randint(1, 899)
        if a != 666: break
    return "%03d-%02d-%04d" % (a, R.randint(1, 99), R.randint(1, 9999))

def kr_phone():
    k = R.choice(["m", "m", "m", "seoul", "area", "070", "intl"])
    if k == "m": return "010-%04d-%04d" % (R.randint(2000, 9999), R.randint(0, 9999))
    if k == "seoul": return "02-%d-%04d" % (R.randint(200, 9999), R.randint(0, 9999))
    if k == "area": return "0%d-%d-%04d" % (R.choice([31, 32, 33, 41, 42, 51, 52, 53, 54, 55, 61, 62, 63, 64]), R.randint(200, 9999), R.randint(0, 9999))
    if k == "070": return "070-%04d-%04d" % (R.randint(2000, 9999), R.randint(0, 9999))
    return "+82 10-%04d-%04d" % (R.randint(2000, 9999), R.randint(0, 9999))

def us_phone():
    a, e, s = R.randint(201, 989), R.randint(200, 999), R.randint(0, 9999)
    return R.choice(["(%d) %d-%04d", "%d-%d-%04d", "%d.%d.%04d", "+1 %d-%d-%04d", "+1 (%d) %d-%04d"]) % (a, e, s)

def cn_phone():
    n = "1" + R.choice("3456789") + digits(9)
    return R.choice([n, "%s %s %s" % (n[:3], n[3:7], n[7:]), "+86 %s %s %s" % (n[:3], n[3:7], n[7:]), "+86 " + n])

def jp_phone():
    return R.choice(["0%d0-%04d-%04d" % (R.choice([7, 8, 9]), R.randint(1000, 9999), R.randint(0, 9999)),
                     "03-%04d-%04d" % (R.randint(1000, 9999), R.randint(0, 9999)),
                     "+81 90-%04d-%04d" % (R.randint(1000, 9999), R.randint(0, 9999))])

def uk_phone():
    return R.choice(["020 %04d %04d" % (R.randint(1000, 9999), R.randint(0, 9999)), "07700 %06d" % R.randint(100000, 999999),
                     "+44 20 %04d %04d" % (R.randint(1000, 9999), R.randint(0, 9999)), "+44 7700 %06d" % R.randint(100000, 999999)])

def de_phone():
    return R.choice(["030 %d" % R.randint(1000000, 99999999), "+49 30 %d" % R.randint(1000000, 99999999), "+49 151 %d" % R.randint(10000000, 99999999), "089 %d" % R.randint(1000000, 9999999)])

def fr_phone():
    p = ["%02d" % R.randint(0, 99) for _ in range(4)]
    return R.choice(["0%d %s" % (R.randint(1, 9), " ".join(p)), "+33 %d %s" % (R.randint(1, 9), " ".join(p)), "0%d.%s" % (R.randint(1, 7), ".".join(p))])

B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
def b58check(payload):
    raw = payload + hashlib.sha256(hashlib.sha256(payload).digest()).digest()[:4]
    n = int.from_bytes(raw, "big"); out = ""
    while n: n, r = divmod(n, 58); out = B58[r] + out
    return "1" * (len(raw) - len(raw.lstrip(b"\0"))) + out

CS = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
def bech32(hrp, data5):
    def polymod(v):
        g = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3]; c = 1
        for x in v:
            b = c >> 25; c = (c & 0x1ffffff) << 5 ^ x
            for i in range(5):
                if (b >> i) & 1: c ^= g[i]
        return c
    hv = [ord(x) >> 5 for x in hrp] + [0] + [ord(x) & 31 for x in hrp]
    pm = polymod(hv + data5 + [0] * 6) ^ 1
    return hrp + "1" + "".join(CS[d] for d in data5 + [(pm >> 5 * (5 - i)) & 31 for i in range(6)])

def wallet():
    k = R.choice(["p2pkh", "p2sh", "bech32", "eth"])
    if k == "p2pkh": return b58check(b"\x00" + R.randbytes(20))
    if k == "p2sh": return b58check(b"\x05" + R.randbytes(20))
    if k == "bech32": return bech32("bc", [0] + [R.randrange(32) for _ in range(32)])
    return "0x" + "".join(R.choice("0123456789abcdef") for _ in range(40))

def rand_str(alpha, n): return "".join(R.choice(alpha) for _ in range(n))
AN = string.ascii_letters + string.digits
def b64u(obj): return base64.urlsafe_b64encode(json.dumps(obj, separators=(",", ":")).encode()).decode().rstrip("=")

def secret():
    k = R.choice(["aws", "gh", "gh2", "openai", "openai2", "deepseek", "anthropic", "slack", "stripe", "google", "jwt"])
    if k == "aws": return "AWS_ACCESS_KEY", "AKIA" + rand_str(string.ascii_uppercase + string.digits, 16)
    if k == "gh": return "GITHUB_TOKEN", R.choice(["ghp_", "gho_", "ghs_"]) + rand_str(AN, 36)
    if k == "gh2": return "GITHUB_TOKEN", "github_pat_" + rand_str(AN, 22) + "_" + rand_str(AN, 59)
    if k == "openai": return "OPENAI_API_KEY", "sk-proj-" + rand_str(AN, 20) + R.choice("0123456789") + rand_str(AN + "-_", 27) + "T3BlbkFJ" + rand_str(AN, 20)
    if k == "openai2": return "OPENAI_API_KEY", "sk-" + rand_str(AN, 20) + "T3BlbkFJ" + rand_str(AN, 19) + R.choice("0123456789")
    if k == "deepseek": return "OPENAI_API_KEY", "sk-" + rand_str("0123456789abcdef", 31) + R.choice("0123456789")
    if k == "anthropic": return "ANTHROPIC_API_KEY", "sk-ant-api03-" + rand_str(AN + "-_", 93) + "AA"
    if k == "slack": return "SLACK_TOKEN", R.choice(["xoxb-", "xoxp-"]) + digits(12) + "-" + digits(12) + "-" + rand_str(AN, 24)
    if k == "stripe": return "STRIPE_KEY", R.choice(["sk_live_", "sk_test_", "rk_live_"]) + rand_str(AN, 24)
    if k == "google": return "GOOGLE_API_KEY", "AIza" + rand_str(AN + "-_", 35)
    return "JWT", b64u({"alg": "HS256", "typ": "JWT"}) + "." + b64u({"sub": digits(10), "name": "x", "iat": R.randint(10**9, 2 * 10**9)}) + "." + rand_str(AN + "-_", 43)

def pem():
    body = "\n".join(rand_str(AN + "+/", 64) for _ in range(R.randint(2, 5)))
    kind = R.choice(["RSA ", "EC ", "", "OPENSSH "])
    return "-----BEGIN %sPRIVATE KEY-----\n%s\n-----END %sPRIVATE KEY-----" % (kind, body, kind)

def password():
    return rand_str(string.ascii_letters, R.randint(4, 7)) + rand_str(string.digits, R.randint(2, 4)) + R.choice("!@#%&*?")

def generic_key():
    return rand_str(AN, R.randint(28, 40))

def ipv4(): return "%d.%d.%d.%d" % (R.choice([10, 172, 192, 203, 8, 34, 52]), R.randint(0, 255), R.randint(0, 255), R.randint(1, 254))
def ipv6():
    g = ["%x" % R.randint(0, 0xffff) for _ in range(8)]
    return R.choice(["2001:db8:" + ":".join(g[2:]), "2001:db8::" + ":".join(g[5:]), "fe80::" + ":".join(g[4:]), ":".join(g)])
def mac():
    sep = R.choice([":", "-"])
    return sep.join("%02X" % R.randint(0, 255) if R.random() < .5 else "%02x" % R.randint(0, 255) for _ in range(6))
def url_cred():
    return R.choice(["https", "postgres", "mysql", "redis", "ftp"]) + "://" + R.choice(["admin", "deploy", "svc_app", "root"]) + ":" + password().replace("@", "x").replace("#", "x").replace("?", "x") + "@" + R.choice(["db.internal.example.com", "10.0.3.7", "cache.example.org:6379"]) + "/" + R.choice(["prod", "app", "0"])
def url_plain():
    return "https://" + R.choice(["www.example.com", "docs.example.org", "shop.example.co.kr"]) + R.choice(["/", "/account/settings", "/orders?id=" + digits(6), "/p/" + digits(4)])

def email(lang):
    f = FK[{"en": "en_US"}.get(lang, "en_US")]
    if R.random() < 0.12:
        return R.choice(["kim", "lee", "info", "yamada", "wang"]) + "@" + R.choice(["한국.kr", "例え.jp", "bücher.de", "münchen.example"])
    user = f.user_name() if R.random() < .5 else (f.first_name().lower() + R.choice([".", "_", ""]) + f.last_name().lower())
    return user + R.choice(["", str(R.randint(1, 99))]) + "@" + R.choice(["example.com", "mail.example.org", "company.co.kr", "naver.com", "gmail.com", "qq.com", "yahoo.co.jp"])

def dob(lang):
    y, m, d = R.randint(1940, 2015), R.randint(1, 12), R.randint(1, 28)
    months = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"]
    if lang == "en": return R.choice(["%04d-%02d-%02d" % (y, m, d), "%02d/%02d/%04d" % (m, d, y), "%s %d, %d" % (months[m - 1], d, y), "%d %s %d" % (d, months[m - 1], y)])
    if lang == "ko": return R.choice(["%04d-%02d-%02d" % (y, m, d), "%d년 %d월 %d일" % (y, m, d), "%04d.%02d.%02d" % (y, m, d)])
    return R.choice(["%04d-%02d-%02d" % (y, m, d), "%d年%d月%d日" % (y, m, d), "%04d/%02d/%02d" % (y, m, d)])

# ---------- names and addresses ----------
def person(lang):
    if lang == "en": return FK["en_US"].first_name() + " " + FK["en_US"].last_name()
    if lang == "ko": return FK["ko_KR"].last_name() + FK["ko_KR"].first_name()
    if lang == "zh": return FK["zh_CN"].last_name() + FK["zh_CN"].first_name()
    return FK["ja_JP"].last_name() + FK["ja_JP"].first_name()

STREETS = ["Main", "Oak", "Maple", "Cedar", "Pine", "Elm", "Washington", "Lake", "Hill", "Park", "Sunset", "Highland", "Lincoln", "River"]
def us_address():
    suffix = R.choice(["Street", "St", "Avenue", "Ave", "Road", "Blvd", "Lane", "Drive"])
    street = "%d %s %s" % (R.randint(1, 9999), R.choice(STREETS), suffix)
    k = R.random()
    if k < 0.4: return street
    if suffix in ("St", "Ave", "Blvd") and R.random() < 0.5: street += "."
    if k < 0.7: return "%s, %s, %s %05d" % (street, FK["en_US"].city(), FK["en_US"].state_abbr(), R.randint(10000, 99999))
    return "%s, Apt %d, %s, %s %05d" % (street, R.randint(1, 40), FK["en_US"].city(), FK["en_US"].state_abbr(), R.randint(10000, 99999))

KR_CITIES = [("서울특별시", ["강남구", "서초구", "마포구", "종로구", "송파구"]), ("부산광역시", ["해운대구", "수영구", "동래구"]), ("경기도", ["성남시 분당구", "수원시 영통구", "고양시 일산동구"]), ("대구광역시", ["수성구", "중구"]), ("인천광역시", ["연수구", "남동구"])]
ROADS = ["테헤란로", "세종대로", "강남대로", "판교역로", "월드컵북로", "해운대해변로", "중앙대로", "삼성로", "올림픽로", "도산대로"]
def kr_address():
    city, gus = R.choice(KR_CITIES)
    a = "%s %s %s %d" % (city, R.choice(gus), R.choice(ROADS), R.randint(1, 500))
    if R.random() < 0.3: a += " %d동 %d호" % (R.randint(101, 115), R.randint(101, 2505))
    return a

# ---------- templates ----------
T = {
 "EMAIL_ADDRESS": {"en": ["Please email me at {}.", "Contact: {}", "Send the invoice to {} by Friday."], "ko": ["이메일은 {} 입니다.", "{}로 회신 부탁드립니다.", "담당자 메일: {}"], "zh": ["请发邮件到 {} 联系我。", "我的邮箱是 {}。"], "ja": ["メールアドレスは {} です。", "{} までご連絡ください。"]},
 "PHONE_NUMBER": {"en": ["Call me at {}.", "My phone number is {}.", "You can reach the office on {} after 9am."], "ko": ["제 연락처는 {} 입니다.", "휴대폰 {}로 전화 주세요."], "zh": ["我的电话是 {}。", "请拨打 {} 联系客服。"], "ja": ["電話番号は {} です。", "{} までお電話ください。"]},
 "CREDIT_CARD": {"en": ["My card number is {}.", "Charge it to {} please.", "Visa {} exp 09/27"], "ko": ["카드번호 {} 로 결제해주세요."], "zh": ["我的信用卡号是 {}。"], "ja": ["カード番号は {} です。"]},
 "IBAN_CODE": {"en": ["Wire the money to IBAN {}.", "Account: {}"], "ko": ["송금 계좌 IBAN {} 입니다."], "zh": ["收款账户 IBAN: {}"], "ja": ["振込先 IBAN {} です。"]},
 "CRYPTO": {"en": ["Send the BTC to {} today.", "My wallet address: {}"], "ko": ["비트코인 지갑 주소는 {} 입니다."], "zh": ["钱包地址 {}"], "ja": ["ウォレット {} に送金してください。"]},
 "US_SSN": {"en": ["My SSN is {}.", "Social Security number: {}", "SSN {} on file."]},
 "US_PASSPORT": {"en": ["My US passport number is {}.", "U.S. passport {} expires next year."]},
 "KR_RRN": {"ko": ["주민등록번호는 {} 입니다.", "주민번호 {} 확인 부탁드립니다.", "본인 확인용 {} 입니다."], "en": ["Korean RRN: {}"]},
 "KR_FRN": {"ko": ["외국인등록번호 {} 로 조회해주세요."], "en": ["Alien registration number {}"]},
 "KR_BRN": {"ko": ["사업자등록번호: {}", "사업자번호 {} 로 세금계산서 발행해주세요."], "en": ["Business registration no. {}"]},
 "KR_PASSPORT": {"ko": ["여권번호는 {} 입니다."], "en": ["Korean passport number {}."]},
 "KR_DRIVER_LICENSE": {"ko": ["운전면허번호 {} 입니다.", "면허번호: {}"]},
 "CN_RESIDENT_ID": {"zh": ["我的身份证号是 {}。", "身份证号码：{}"], "en": ["Chinese ID card {}"]},
 "JP_MY_NUMBER": {"ja": ["マイナンバーは {} です。", "個人番号：{}"], "en": ["My Number (Japan): {}"]},
 "IP_ADDRESS": {"en": ["The server IP is {}.", "Blocked requests from {} last night.", "ssh admin@{} failed"], "ko": ["서버 IP {} 접속이 안 됩니다."], "zh": ["服务器地址 {}"], "ja": ["サーバ {} に接続できません。"]},
 "MAC_ADDRESS": {"en": ["Device MAC {} is offline.", "whitelist {}"], "ko": ["MAC 주소 {} 등록 바랍니다."]},
 "URL": {"en": ["Use {} to connect.", "Docs are at {}"], "ko": ["접속 주소: {}"]},
 "SECRET": {"en": ["Here is my key {} for testing.", "export KEY={}", "I accidentally pasted {} in the chat."], "ko": ["API 키 {} 를 사용하세요."], "zh": ["我的密钥是 {}"], "ja": ["APIキー {} を設定しました。"]},
 "PRIVATE_KEY": {"en": ["my key:\n{}\nthanks"], "ko": ["개인키입니다\n{}"]},
 "GENERIC_SECRET": {"en": ["password: {}", "The database password is {}", "db_password={}"], "ko": ["비밀번호: {}"], "zh": ["密码：{}"], "ja": ["パスワード：{}"]},
 "GENERIC_KEY": {"en": ["api_key: {}", "client_secret=\"{}\"", "token: {}"]},
 "DATE_OF_BIRTH": {"en": ["Date of birth: {}", "I was born on {}.", "DOB {}"], "ko": ["생년월일: {}", "생일은 {} 입니다."], "zh": ["出生日期：{}", "我的生日是 {}。"], "ja": ["生年月日：{}", "誕生日は {} です。"]},
 "STREET_ADDRESS": {"en": ["Ship it to {}.", "I live at {}.", "Our office: {}"], "ko": ["주소는 {} 입니다.", "배송지: {}"]},
 "PERSON": {
   "en": ["My name is {}.", "Please forward this to {} in accounting.", "Dear {},\nthanks for the update.", "Best regards,\n{}", "I met Mr. {} yesterday.", "{} will join the call."],
   "ko": ["{}님 안녕하세요.", "제 이름은 {}입니다.", "{} 과장님께 전달 부탁드립니다.", "담당자: {}", "{}씨가 내일 방문합니다."],
   "zh": ["我叫{}，是新来的工程师。", "请联系{}先生。", "{}女士明天到。", "联系人：{}"],
   "ja": ["{}さんに連絡してください。", "担当の{}様へ", "私は{}と申します。", "{}先生、ありがとうございます。"]},
}

def gen_value(t, lang):
    if t == "EMAIL_ADDRESS": return t, email(lang)
    if t == "PHONE_NUMBER":
        f = {"en": R.choice([us_phone, us_phone, uk_phone, de_phone, fr_phone]), "ko": kr_phone, "zh": cn_phone, "ja": jp_phone}[lang]
        return t, f()
    if t == "CREDIT_CARD": return t, card()
    if t == "IBAN_CODE": return t, iban()
    if t == "CRYPTO": return t, wallet()
    if t == "US_SSN": return t, ssn()
    if t == "US_PASSPORT": return t, R.choice([digits(9), R.choice("ACEFHKLNPX") + digits(8)])
    if t == "KR_RRN": return t, rrn()
    if t == "KR_FRN": return t, rrn(foreigner=True)
    if t == "KR_BRN": return t, brn()
    if t == "KR_PASSPORT": return t, R.choice(["M", "S", "R"]) + digits(8) if R.random() < .6 else "M" + digits(3) + R.choice("ABCDEFGH") + digits(4)
    if t == "KR_DRIVER_LICENSE": return t, "%d-%02d-%06d-%02d" % (R.randint(11, 28), R.randint(0, 99), R.randint(0, 999999), R.randint(0, 99))
    if t == "CN_RESIDENT_ID": return t, cn_id()
    if t == "JP_MY_NUMBER": return t, my_number()
    if t == "IP_ADDRESS": return t, ipv4() if R.random() < .6 else ipv6()
    if t == "MAC_ADDRESS": return t, mac()
    if t == "URL": return t, url_cred() if R.random() < .6 else url_plain()
    if t == "SECRET": return secret()
    if t == "PRIVATE_KEY": return t, pem()
    if t == "GENERIC_SECRET": return t, password()
    if t == "GENERIC_KEY": return "GENERIC_SECRET", generic_key()
    if t == "DATE_OF_BIRTH": return t, dob(lang)
    if t == "STREET_ADDRESS": return t, us_address() if lang == "en" else kr_address()
    if t == "PERSON": return t, person(lang)
    raise ValueError(t)

FILLER = {"en": ["Thanks in advance.", "Let me know if anything is missing.", "This is urgent.", "Can you summarise this for me?", "The meeting moved to 3pm."],
          "ko": ["감사합니다.", "확인 부탁드립니다.", "급한 건입니다.", "요약해 주세요."],
          "zh": ["谢谢。", "请尽快处理。", "麻烦总结一下。"],
          "ja": ["よろしくお願いします。", "至急確認してください。", "要約してください。"]}
JOIN = {"en": " ", "ko": " ", "zh": "", "ja": ""}

class Builder:
    def __init__(self): self.text = ""; self.spans = []
    def add(self, s): self.text += s
    def ent(self, t, v):
        self.spans.append({"type": t, "start": len(self.text), "end": len(self.text) + len(v)}); self.text += v

def fill(template, lang, t):
    b = Builder()
    pre, post = template.split("{}")
    label, value = gen_value(t, lang)
    b.add(pre); b.ent(label, value); b.add(post)
    return b

NEG = {
 "en": ["Order #{o} shipped on 2024-03-15 14:22:05.", "Upgrade to version 3.12.4 before Friday.", "Commit {h} fixed the build.", "Request id {u} returned 500.",
        "The total was $1,234.56 including tax.", "Invoice 2023-000{d3} is overdue.", "Tracking number {t} is in transit.", "Call the meeting at 10:30:00 UTC.",
        "Card ending {bad} was declined (test data).", "Room 1204, floor 12.", "ISBN 978-3-16-148410-0 is on the shelf.", "Release 1.2.3.4 is tagged.",
        "Use sk-learn and numpy for this.", "The token is valid for 3600 seconds.", "Reset your password from the settings page.",
        "Population grew by 12,345,678 people.", "Ticket {d8} was closed.", "The meeting is on 2024-05-01.", "May I ask a question?",
        "Will you review the PR?", "Jordan River flows south.", "The Lincoln Memorial is closed.", "Temperature 23.5C at 08:15.",
        "Flight KE081 departs 2024/06/30 at 10:40.", "Build 20240315.1 passed.", "Coordinates 37.5665, 126.9780.", "Port 8080 and 443 are open.",
        "SHA256 {h64} matches.", "Serial SN-{d10}-A is under warranty.", "Our revenue is 4,500,000 USD.", "Patch level 2.0.0.1 installed."],
 "ko": ["주문번호 {d12} 배송이 시작되었습니다.", "버전 2.4.1 업데이트를 진행해주세요.", "결제 금액은 1,500,000원입니다.", "회의는 2024-03-15 14:00에 시작합니다.",
        "송장번호 {d12} 조회 부탁드립니다.", "고객님 문의 감사합니다.", "선생님께서 말씀하셨습니다.", "번호 {bad_rrn} 는 잘못된 예시입니다.",
        "비밀번호를 재설정해 주세요.", "3층 회의실에서 봅시다.", "오늘 기온은 23도입니다.", "작업 {u} 완료되었습니다."],
 "zh": ["订单号 {d12} 已发货。", "版本 3.1.4 已发布。", "总金额为 12,345 元。", "会议时间 2024-03-15 14:00。", "请在 2024年3月15日 前提交。", "提交记录 {h}。", "编号 {bad_cn} 校验失败。", "快递单号 {d12}。"],
 "ja": ["注文番号 {d12} を発送しました。", "バージョン 1.4.2 をリリースしました。", "合計金額は 12,800円です。", "会議は 2024-03-15 10:00 からです。", "コミット {h} を確認してください。", "お客様各位", "受付番号 {d8} です。"],
}


# Harder, more varied phrasings (added after the first round of tuning; kept apart so the
# difference in scores is visible in the git history).
EXTRA = {
 "EMAIL_ADDRESS": {"en": ["From: Support <{}>", '{{"email": "{}"}}', "mailto:{} for details"], "ko": ["메일({})로 보내주세요."], "zh": ["邮箱（{}）"], "ja": ["連絡先：{}"]},
 "PHONE_NUMBER": {"en": ["Tel: {}", "phone={}", "Call {} (mobile)."], "ko": ["연락처:{}", "전화번호({})"], "zh": ["电话：{}"], "ja": ["電話：{}"]},
 "CREDIT_CARD": {"en": ['"card_number": "{}"', "Card: {}, exp 11/26"], "ko": ["카드 {} 결제 완료"]},
 "GENERIC_KEY": {"en": ["OPENAI_KEY={}", '"api_key": "{}"', "curl -H 'Authorization: Bearer {}' $API_URL"]},
 "SECRET": {"en": ["OPENAI_API_KEY={}", '{{"token": "{}"}}', "set it to `{}` in .env"]},
 "IP_ADDRESS": {"en": ["Listening on {} port 8080", "allow from {} only"], "ko": ["접속 IP: {}"]},
 "URL": {"en": ["(see {})", "Repo: {}."]},
 "PERSON": {"en": ["Ms. {} approved it.", "cc: {}", "Thanks,\n{}"], "ko": ["{} 대리님이 확인했습니다.", "작성자: {}"], "zh": ["{}老师好。", "收件人：{}"], "ja": ["{}様", "{}氏が来社されました。"]},
 "DATE_OF_BIRTH": {"en": ["DOB: {}", "Born {} in Busan."], "ko": ["{}생입니다."], "ja": ["{}生まれです。"], "zh": ["出生日期 {}"]},
}
for t, by_lang in EXTRA.items():
    for lang, ts in by_lang.items():
        T.setdefault(t, {}).setdefault(lang, []).extend(ts)

NEG["en"] += ["Call me at 5pm.", "Q3 revenue grew 12.5%.", "Page 3 of 10.", "Deployed at 2024-05-01T10:00:00Z.", "Tag v2.3.1-beta.",
              "EAN 4006381333931 on the box.", "Run it on localhost:3000.", "Error code 0x80070005 again.", "Image sha256:{h64}.",
              "CVE-2024-12345 is patched.", "HTTP 404 on /api/v1/users.", "GPT-4o and iPhone 15 Pro.", "Color #FF5733.",
              "Open 24/7, a 50/50 split.", "Pi is 3.14159.", "Ratio 1:2:3:4.", "The score was 3-2.", "Call 555-0100 in the movie."]
NEG["ko"] += ["오후 3시 30분에 뵙겠습니다.", "3분기 매출 12.5% 증가.", "제 2024-0315 회차 회의록.", "대기번호 127번입니다."]
NEG["zh"] += ["第3季度增长12.5%。", "房间号 1204。", "ISO 8601 格式。"]
NEG["ja"] += ["第3四半期は12.5%増。", "会議室 1204 です。", "午後3時30分に伺います。"]

def neg(lang):
    t = R.choice(NEG[lang])
    v = {"o": digits(8), "h": rand_str("0123456789abcdef", 40), "u": "%s-%s-%s-%s-%s" % tuple(rand_str("0123456789abcdef", k) for k in (8, 4, 4, 4, 12)),
         "d3": digits(3), "t": "1Z" + rand_str(string.ascii_uppercase + string.digits, 16), "bad": bad_card(), "d8": digits(8), "d10": digits(10),
         "d12": digits(12), "h64": rand_str("0123456789abcdef", 64), "bad_rrn": rrn(valid=False), "bad_cn": cn_id(valid=False)}
    for k, x in v.items(): t = t.replace("{" + k + "}", x)
    return t

# Checksum failures that must stay silent: values shaped like IDs, without context.
def checksum_negative():
    k = R.choice(["card", "iban", "rrn", "cn", "mynum", "brn"])
    if k == "card": return "Reference %s attached." % bad_card()
    if k == "iban": return "Example string %s (invalid)." % iban(valid=False)
    if k == "rrn": return "샘플 값 %s 참고." % rrn(valid=False)
    if k == "cn": return "样例 %s 无效。" % cn_id(valid=False)
    if k == "mynum": return "サンプル %s です。" % my_number(valid=False, style="plain")
    return "코드 %s 확인." % brn(valid=False)

def main():
    out = []
    per_type = {"EMAIL_ADDRESS": 180, "PHONE_NUMBER": 320, "CREDIT_CARD": 150, "IBAN_CODE": 100, "CRYPTO": 100, "US_SSN": 80, "US_PASSPORT": 40,
                "KR_RRN": 120, "KR_FRN": 50, "KR_BRN": 60, "KR_PASSPORT": 40, "KR_DRIVER_LICENSE": 40, "CN_RESIDENT_ID": 80, "JP_MY_NUMBER": 60,
                "IP_ADDRESS": 120, "MAC_ADDRESS": 50, "URL": 80, "SECRET": 220, "PRIVATE_KEY": 25, "GENERIC_SECRET": 70, "GENERIC_KEY": 50,
                "DATE_OF_BIRTH": 120, "STREET_ADDRESS": 150, "PERSON": 320}
    n = 0
    for t, count in per_type.items():
        langs = list(T[t].keys())
        for i in range(count):
            lang = langs[i % len(langs)]
            b = fill(R.choice(T[t][lang]), lang, t)
            if R.random() < 0.3:
                f = R.choice(FILLER[lang])
                sep = JOIN[lang] if lang not in ("zh", "ja") or b.text[-1] in "。！？\n" else "。"
                if R.random() < .5: b.text = b.text + sep + f
                else:
                    shift = len(f + JOIN[lang])
                    b.text = f + JOIN[lang] + b.text  # fillers end with their own punctuation
                    for s in b.spans: s["start"] += shift; s["end"] += shift
            out.append({"id": "pos-%05d" % n, "lang": lang, "kind": "positive", "text": b.text, "spans": b.spans}); n += 1
    # Post-2020 RRNs (no check digit): positive only with context.
    for i in range(30):
        b = Builder(); b.add(R.choice(["주민등록번호: ", "주민번호는 "])); b.ent("KR_RRN", rrn(valid=False, year=R.choice([2020, 2021, 2022, 2023]))); b.add(R.choice([" 입니다.", ""]))
        out.append({"id": "pos-%05d" % n, "lang": "ko", "kind": "positive", "text": b.text, "spans": b.spans}); n += 1
    # Multi-entity sentences.
    mix_types = ["EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "IP_ADDRESS", "SECRET", "KR_RRN", "CN_RESIDENT_ID", "JP_MY_NUMBER", "IBAN_CODE", "US_SSN"]
    for i in range(350):
        lang = R.choice(["en", "ko", "zh", "ja"])
        b = Builder()
        for j in range(R.randint(2, 3)):
            t = R.choice([x for x in mix_types if lang in T[x]])
            pre, post = R.choice(T[t][lang]).split("{}")
            label, value = gen_value(t, lang)
            if b.text:
                if lang in ("zh", "ja") and b.text[-1] not in "。！？": b.add("。")
                b.add(JOIN[lang])
            b.add(pre); b.ent(label, value); b.add(post)
        out.append({"id": "mix-%05d" % i, "lang": lang, "kind": "positive", "text": b.text, "spans": b.spans})
    # Hard negatives.
    for i in range(700):
        lang = ["en", "en", "ko", "zh", "ja"][i % 5]
        out.append({"id": "neg-%05d" % i, "lang": lang, "kind": "negative", "text": neg(lang), "spans": []})
    for i in range(200):
        out.append({"id": "negck-%05d" % i, "lang": "mixed", "kind": "negative", "text": checksum_negative(), "spans": []})
    R.shuffle(out)
    for o in out: print(json.dumps(o, ensure_ascii=False))
    print("sentences: %d" % len(out), file=sys.stderr)

main()
