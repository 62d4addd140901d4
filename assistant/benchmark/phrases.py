"""What the person says in the household benchmark, in all 20 languages.

Whole sentences written per language (with the case and gender forms a colour word takes
next to its noun), not words glued together: the benchmark measures the assistant on the
way people talk, and `tests/test_benchmark_phrases.py` checks that every sentence, with
every colour, is understood as the goal it is meant to be. When a sentence does not parse,
the sentence is fixed here, not the parser.

Slots: `{cube}` the colour of a cube that is the object of the verb, `{bowl}` the colour
of a bowl that is the destination, `{one}` the colour in "no, the blue one" (a cube). The
three tuples give each colour of `COLORS` in that role, in that order.
"""
from __future__ import annotations

from dataclasses import dataclass

COLORS = ("red", "green", "blue", "yellow")  # the colours named in commands


@dataclass(frozen=True)
class Phrases:
    put_in: str  # put the {cube} cube in the {bowl} bowl
    change_dest: str  # (running) no, in the {bowl} bowl
    put_all: str  # put all the cubes in the tray
    change_balls: str  # (running) no, the balls
    sort: str  # sort the cubes by colour
    change_blocks: str  # (running) no, the blocks
    stack: str  # stack the cubes
    near: str  # put the {cube} cube next to the duck
    change_one: str  # (running) no, the {one} one
    count: str  # how many cubes are there?
    where: str  # where is the duck?
    stop: str
    resume: str
    cube: tuple[str, str, str, str]
    bowl: tuple[str, str, str, str]
    one: tuple[str, str, str, str]


def _same(*words: str) -> tuple[str, str, str, str]:
    assert len(words) == 4
    return words  # type: ignore[return-value]


PHRASES: dict[str, Phrases] = {
    "en": Phrases(
        put_in="Please put the {cube} cube in the {bowl} bowl.", change_dest="No, in the {bowl} bowl.",
        put_all="Could you put all the cubes in the tray?", change_balls="No, the balls.",
        sort="Please sort the cubes by colour.", change_blocks="No, the blocks.", stack="Stack the cubes, please.",
        near="Put the {cube} cube next to the duck.", change_one="No, the {one} one.",
        count="How many cubes are there?", where="Where is the duck?", stop="Stop!", resume="Continue.",
        cube=_same("red", "green", "blue", "yellow"), bowl=_same("red", "green", "blue", "yellow"),
        one=_same("red", "green", "blue", "yellow")),
    "es": Phrases(
        put_in="Pon el cubo {cube} en el cuenco {bowl}, por favor.", change_dest="No, mejor en el cuenco {bowl}.",
        put_all="¿Puedes poner todos los cubos en la bandeja?", change_balls="No, mejor las pelotas.",
        sort="Ordena los cubos por color, por favor.", change_blocks="No, mejor los bloques.",
        stack="Apila los cubos, por favor.", near="Pon el cubo {cube} al lado del pato.",
        change_one="No, el {one}.", count="¿Cuántos cubos hay?", where="¿Dónde está el pato?", stop="¡Para!",
        resume="Continúa.",
        cube=_same("rojo", "verde", "azul", "amarillo"), bowl=_same("rojo", "verde", "azul", "amarillo"),
        one=_same("rojo", "verde", "azul", "amarillo")),
    "fr": Phrases(
        put_in="Mets le cube {cube} dans le bol {bowl}, s'il te plaît.", change_dest="Non, plutôt dans le bol {bowl}.",
        put_all="Tu peux mettre tous les cubes sur le plateau ?", change_balls="Non, plutôt les balles.",
        sort="Range les cubes par couleur, s'il te plaît.", change_blocks="Non, plutôt les blocs.",
        stack="Empile les cubes, s'il te plaît.", near="Mets le cube {cube} à côté du canard.",
        change_one="Non, le {one}.", count="Combien de cubes y a-t-il ?", where="Où est le canard ?",
        stop="Arrête !", resume="Continue.",
        cube=_same("rouge", "vert", "bleu", "jaune"), bowl=_same("rouge", "vert", "bleu", "jaune"),
        one=_same("rouge", "vert", "bleu", "jaune")),
    "de": Phrases(
        put_in="Leg bitte den {cube} Würfel in die {bowl} Schüssel.",
        change_dest="Nein, lieber in die {bowl} Schüssel.",
        put_all="Kannst du alle Würfel auf das Tablett legen?", change_balls="Nein, lieber die Bälle.",
        sort="Sortiere bitte die Würfel nach Farbe.", change_blocks="Nein, lieber die Klötze.",
        stack="Staple bitte die Würfel.", near="Leg den {cube} Würfel neben die Ente.",
        change_one="Nein, den {one}.", count="Wie viele Würfel gibt es?", where="Wo ist die Ente?",
        stop="Stopp!", resume="Mach weiter.",
        cube=_same("roten", "grünen", "blauen", "gelben"), bowl=_same("rote", "grüne", "blaue", "gelbe"),
        one=_same("roten", "grünen", "blauen", "gelben")),
    "it": Phrases(
        put_in="Metti il cubo {cube} nella ciotola {bowl}, per favore.", change_dest="No, anzi nella ciotola {bowl}.",
        put_all="Puoi mettere tutti i cubi nel vassoio?", change_balls="No, anzi le palline.",
        sort="Ordina i cubi per colore, per favore.", change_blocks="No, anzi i blocchi.",
        stack="Impila i cubi, per favore.", near="Metti il cubo {cube} accanto alla paperella.",
        change_one="No, quello {one}.", count="Quanti cubi ci sono?", where="Dov'è la paperella?",
        stop="Fermati!", resume="Continua.",
        cube=_same("rosso", "verde", "blu", "giallo"), bowl=_same("rossa", "verde", "blu", "gialla"),
        one=_same("rosso", "verde", "blu", "giallo")),
    "pt": Phrases(
        put_in="Põe o cubo {cube} na tigela {bowl}, por favor.", change_dest="Não, na verdade na tigela {bowl}.",
        put_all="Podes pôr todos os cubos na bandeja?", change_balls="Não, na verdade as bolas.",
        sort="Organiza os cubos por cor, por favor.", change_blocks="Não, na verdade os blocos.",
        stack="Empilha os cubos, por favor.", near="Põe o cubo {cube} ao lado do pato.",
        change_one="Não, o {one}.", count="Quantos cubos há?", where="Onde está o pato?",
        stop="Pare!", resume="Continua.",
        cube=_same("vermelho", "verde", "azul", "amarelo"), bowl=_same("vermelha", "verde", "azul", "amarela"),
        one=_same("vermelho", "verde", "azul", "amarelo")),
    "nl": Phrases(
        put_in="Leg de {cube} kubus in de {bowl} kom, alsjeblieft.", change_dest="Nee, liever in de {bowl} kom.",
        put_all="Wil je alle kubussen op het dienblad leggen?", change_balls="Nee, liever de ballen.",
        sort="Sorteer de kubussen op kleur, alsjeblieft.", change_blocks="Nee, liever de blokken.",
        stack="Stapel de kubussen op elkaar, alsjeblieft.", near="Zet de {cube} kubus naast de eend.",
        change_one="Nee, de {one}.", count="Hoeveel kubussen zijn er?", where="Waar is de eend?",
        stop="Stop!", resume="Ga door.",
        cube=_same("rode", "groene", "blauwe", "gele"), bowl=_same("rode", "groene", "blauwe", "gele"),
        one=_same("rode", "groene", "blauwe", "gele")),
    "pl": Phrases(
        put_in="Włóż, proszę, {cube} kostkę do {bowl} miski.", change_dest="Nie, jednak do {bowl} miski.",
        put_all="Połóż, proszę, wszystkie kostki na tacy.", change_balls="Nie, jednak piłki.",
        sort="Posortuj, proszę, kostki według koloru.", change_blocks="Nie, jednak klocki.",
        stack="Zbuduj, proszę, wieżę z kostek.", near="Połóż {cube} kostkę obok kaczki.",
        change_one="Nie, {one}.", count="Ile jest kostek?", where="Gdzie jest kaczka?",
        stop="Stój!", resume="Kontynuuj.",
        cube=_same("czerwoną", "zieloną", "niebieską", "żółtą"),
        bowl=_same("czerwonej", "zielonej", "niebieskiej", "żółtej"),
        one=_same("czerwoną", "zieloną", "niebieską", "żółtą")),
    "ru": Phrases(
        put_in="Положи, пожалуйста, {cube} кубик в {bowl} миску.", change_dest="Нет, лучше в {bowl} миску.",
        put_all="Положи, пожалуйста, все кубики на поднос.", change_balls="Нет, лучше мячики.",
        sort="Рассортируй, пожалуйста, кубики по цвету.", change_blocks="Нет, лучше бруски.",
        stack="Поставь, пожалуйста, кубики друг на друга.", near="Положи {cube} кубик рядом с уточкой.",
        change_one="Нет, лучше {one}.", count="Сколько здесь кубиков?", where="Где уточка?",
        stop="Стой!", resume="Продолжай.",
        cube=_same("красный", "зелёный", "синий", "жёлтый"), bowl=_same("красную", "зелёную", "синюю", "жёлтую"),
        one=_same("красный", "зелёный", "синий", "жёлтый")),
    "uk": Phrases(
        put_in="Поклади, будь ласка, {cube} кубик у {bowl} миску.", change_dest="Ні, краще в {bowl} миску.",
        put_all="Поклади, будь ласка, всі кубики на піднос.", change_balls="Ні, краще м'ячики.",
        sort="Розсортуй, будь ласка, кубики за кольором.", change_blocks="Ні, краще бруски.",
        stack="Склади, будь ласка, кубики один на одного.", near="Поклади {cube} кубик біля качечки.",
        change_one="Ні, краще {one}.", count="Скільки тут кубиків?", where="Де качечка?",
        stop="Стій!", resume="Продовжуй.",
        cube=_same("червоний", "зелений", "синій", "жовтий"), bowl=_same("червону", "зелену", "синю", "жовту"),
        one=_same("червоний", "зелений", "синій", "жовтий")),
    "tr": Phrases(
        put_in="Lütfen {cube} küpü {bowl} kaseye koy.", change_dest="Pardon, onun yerine {bowl} kaseye koy.",
        put_all="Bütün küpleri tepsiye koyar mısın?", change_balls="Pardon, onun yerine topları.",
        sort="Lütfen küpleri renklerine göre ayır.", change_blocks="Pardon, onun yerine blokları.",
        stack="Lütfen küpleri üst üste koy.", near="Lütfen {cube} küpü ördeğin yanına koy.",
        change_one="Pardon, {one} olanı.", count="Kaç tane küp var?", where="Ördek nerede?",
        stop="Dur!", resume="Devam et.",
        cube=_same("kırmızı", "yeşil", "mavi", "sarı"), bowl=_same("kırmızı", "yeşil", "mavi", "sarı"),
        one=_same("kırmızı", "yeşil", "mavi", "sarı")),
    "ar": Phrases(
        put_in="من فضلك ضع المكعب {cube} في الوعاء {bowl}.", change_dest="لا، بل في الوعاء {bowl}.",
        put_all="ضع كل المكعبات في الصينية من فضلك.", change_balls="لا، بل الكرات.",
        sort="رتب المكعبات حسب اللون من فضلك.", change_blocks="لا، بل الكتل.",
        stack="كدس المكعبات فوق بعضها من فضلك.", near="ضع المكعب {cube} بجانب البطة.",
        change_one="لا، بل {one}.", count="كم مكعباً على الطاولة؟", where="أين البطة؟",
        stop="توقف!", resume="أكمل من فضلك.",
        cube=_same("الأحمر", "الأخضر", "الأزرق", "الأصفر"), bowl=_same("الأحمر", "الأخضر", "الأزرق", "الأصفر"),
        one=_same("الأحمر", "الأخضر", "الأزرق", "الأصفر")),
    "hi": Phrases(
        put_in="कृपया {cube} क्यूब को {bowl} कटोरे में रख दीजिए।", change_dest="नहीं, बल्कि {bowl} कटोरे में रखिए।",
        put_all="सभी क्यूब ट्रे में रख दीजिए।", change_balls="नहीं, क्यूब की जगह गेंदें।",
        sort="क्यूब्स को रंग के हिसाब से छाँट दीजिए।", change_blocks="नहीं, क्यूब की जगह ब्लॉक।",
        stack="क्यूब्स को एक के ऊपर एक रख दीजिए।", near="{cube} क्यूब को बत्तख के पास रख दीजिए।",
        change_one="नहीं, बल्कि {one} वाला।", count="कितने क्यूब हैं?", where="बत्तख कहाँ है?",
        stop="रुको!", resume="जारी रखो।",
        cube=_same("लाल", "हरे", "नीले", "पीले"), bowl=_same("लाल", "हरे", "नीले", "पीले"),
        one=_same("लाल", "हरा", "नीला", "पीला")),
    "bn": Phrases(
        put_in="দয়া করে {cube} কিউবটা {bowl} বাটির মধ্যে রাখো।", change_dest="না, বরং {bowl} বাটির মধ্যে রাখো।",
        put_all="সব কিউব ট্রের মধ্যে রাখো।", change_balls="না, বরং বলগুলো।",
        sort="কিউবগুলো রং অনুযায়ী সাজাও।", change_blocks="না, বরং ব্লকগুলো।",
        stack="কিউবগুলো একটার উপর একটা রাখো।", near="{cube} কিউবটা হাঁসের পাশে রাখো।",
        change_one="না, বরং {one}টা।", count="কয়টা কিউব আছে?", where="হাঁসটা কোথায়?",
        stop="থামো!", resume="চালিয়ে যাও।",
        cube=_same("লাল", "সবুজ", "নীল", "হলুদ"), bowl=_same("লাল", "সবুজ", "নীল", "হলুদ"),
        one=_same("লাল", "সবুজ", "নীল", "হলুদ")),
    "zh": Phrases(
        put_in="请把{cube}的方块放进{bowl}的碗里。", change_dest="不对，放到{bowl}的碗里。",
        put_all="请把所有的方块都放到托盘里。", change_balls="不对，换成球。",
        sort="请把方块按颜色分类。", change_blocks="不对，换成积木。",
        stack="请把方块叠起来。", near="把{cube}的方块放到鸭子旁边。",
        change_one="不对，是{one}的那个。", count="有几个方块？", where="鸭子在哪里？",
        stop="停！", resume="继续。",
        cube=_same("红色", "绿色", "蓝色", "黄色"), bowl=_same("红色", "绿色", "蓝色", "黄色"),
        one=_same("红色", "绿色", "蓝色", "黄色")),
    "ja": Phrases(
        put_in="{cube}キューブを{bowl}ボウルに入れてください。",
        change_dest="いや、やっぱり{bowl}ボウルにしてください。",
        put_all="キューブを全部トレイに入れてください。", change_balls="いや、やっぱりボールにしてください。",
        sort="キューブを色ごとに分けてください。", change_blocks="いや、やっぱりブロックにしてください。",
        stack="キューブを積み重ねてください。", near="{cube}キューブをアヒルの隣に置いてください。",
        change_one="いや、{one}のにしてください。", count="キューブはいくつありますか？",
        where="アヒルはどこにありますか？",
        stop="止まって！", resume="続けてください。",
        cube=_same("赤い", "緑の", "青い", "黄色い"), bowl=_same("赤い", "緑の", "青い", "黄色い"),
        one=_same("赤い", "緑", "青い", "黄色い")),
    "ko": Phrases(
        put_in="{cube} 큐브를 {bowl} 그릇에 넣어 주세요.", change_dest="아니, {bowl} 그릇에 넣어 주세요.",
        put_all="큐브를 전부 쟁반에 넣어 주세요.", change_balls="아니, 큐브 말고 공들이요.",
        sort="큐브들을 같은 색 그릇에 정리해 주세요.", change_blocks="아니, 큐브 말고 블록들이요.",
        stack="큐브들을 쌓아 주세요.", near="{cube} 큐브를 오리 옆에 놓아 주세요.",
        change_one="아니, {one} 거요.", count="큐브가 몇 개 있어요?", where="오리는 어디 있어요?",
        stop="멈춰!", resume="계속해 주세요.",
        cube=_same("빨간", "초록색", "파란", "노란"), bowl=_same("빨간", "초록색", "파란", "노란"),
        one=_same("빨간", "초록색", "파란", "노란")),
    "vi": Phrases(
        put_in="Bạn bỏ khối lập phương màu {cube} vào cái bát màu {bowl} giúp tôi nhé.",
        change_dest="Không phải, bỏ vào cái bát màu {bowl} cơ.",
        put_all="Bạn bỏ tất cả các khối lập phương vào khay nhé.", change_balls="Không phải, các quả bóng cơ.",
        sort="Bạn sắp xếp các khối lập phương theo màu nhé.", change_blocks="Không phải, các khối chữ nhật cơ.",
        stack="Bạn xếp chồng các khối lập phương lên nhau nhé.",
        near="Bạn đặt khối lập phương màu {cube} bên cạnh con vịt nhé.",
        change_one="Không phải, cái màu {one} cơ.", count="Có bao nhiêu khối lập phương?", where="Con vịt ở đâu?",
        stop="Dừng lại!", resume="Tiếp tục đi.",
        cube=_same("đỏ", "xanh lá", "xanh dương", "vàng"), bowl=_same("đỏ", "xanh lá", "xanh dương", "vàng"),
        one=_same("đỏ", "xanh lá", "xanh dương", "vàng")),
    "id": Phrases(
        put_in="Tolong masukkan kubus {cube} ke dalam mangkuk {bowl}.", change_dest="Bukan, ke mangkuk {bowl} saja.",
        put_all="Tolong taruh semua kubus di nampan.", change_balls="Bukan, bolanya saja.",
        sort="Tolong kelompokkan kubus menurut warnanya.", change_blocks="Bukan, baloknya saja.",
        stack="Tolong tumpuk kubusnya.", near="Tolong taruh kubus {cube} di samping bebek.",
        change_one="Bukan, yang {one}.", count="Ada berapa kubus?", where="Bebeknya di mana?",
        stop="Berhenti!", resume="Lanjutkan.",
        cube=_same("merah", "hijau", "biru", "kuning"), bowl=_same("merah", "hijau", "biru", "kuning"),
        one=_same("merah", "hijau", "biru", "kuning")),
    "sw": Phrases(
        put_in="Tafadhali weka mchemraba {cube} ndani ya bakuli {bowl}.",
        change_dest="Sio hivyo, weka ndani ya bakuli {bowl}.",
        put_all="Tafadhali weka michemraba yote kwenye trei.", change_balls="Sio hivyo, mipira badala yake.",
        sort="Tafadhali panga michemraba kwa rangi.", change_blocks="Sio hivyo, mabloku badala yake.",
        stack="Tafadhali rundika michemraba.", near="Tafadhali weka mchemraba {cube} kando ya bata.",
        change_one="Sio hivyo, ule {one}.", count="Kuna michemraba mingapi?", where="Bata iko wapi?",
        stop="Simama!", resume="Endelea.",
        cube=_same("mwekundu", "wa kijani", "wa buluu", "wa njano"),
        bowl=_same("jekundu", "la kijani", "la buluu", "la njano"),
        one=_same("mwekundu", "wa kijani", "wa buluu", "wa njano")),
}
LANGUAGES = tuple(PHRASES)


def say(language: str, key: str, **colors: str) -> str:
    """The sentence `key` in `language`, with colour slots filled: say("ru", "put_in", cube="red", bowl="blue")."""
    p = PHRASES[language]
    forms = {slot: getattr(p, slot)[COLORS.index(c)] for slot, c in colors.items()}
    return getattr(p, key).format(**forms)
