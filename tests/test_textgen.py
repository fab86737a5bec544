"""Ad-copy generation (adrec.textgen), AdvertiseGen loading and the text metrics."""
import json

import numpy as np
import pytest
import torch

from adrec import metrics, textgen as tg
from adrec.data import load_advertisegen, parse_attributes
from adrec.data.advertisegen import AdRow
from adrec.torch_nn.train import fit


def _rows():
    data = [("类型#上衣*材质#牛仔布*风格#简约", "简约的牛仔上衣，百搭。"),
            ("类型#裙*风格#复古*图案#格子", "复古格子裙，优雅大方。"),
            ("类型#裤*材质#棉", "棉质长裤，舒适透气。")]
    return [AdRow(c, parse_attributes(c), s) for c, s in data]


def test_parse_attributes_and_errors():
    assert parse_attributes("类型#上衣*风格#简约*风格#复古") == (("类型", "上衣"), ("风格", "简约"), ("风格", "复古"))
    for bad in ("", "   ", "类型上衣", "类型#"):
        with pytest.raises(ValueError):
            parse_attributes(bad)


def test_registered_files_load():
    dev, train = load_advertisegen("dev"), load_advertisegen("train")
    assert len(dev) == 1_070 and len(train) == 5_000
    assert dev[0].attributes[0] == ("类型", "上衣")
    assert all(r.summary for r in train)


def test_user_path_gbk_and_utf8(tmp_path):
    line = json.dumps({"content": "类型#裤*材质#棉", "summary": "舒适"}, ensure_ascii=False) + "\n"
    for enc in ("utf-8", "gbk"):
        p = tmp_path / f"train.{enc}.json"
        p.write_bytes(line.encode(enc))
        rows = load_advertisegen(path=p)
        assert rows[0].attributes == (("类型", "裤"), ("材质", "棉")) and rows[0].summary == "舒适"
    with pytest.raises(FileNotFoundError):
        load_advertisegen(path=tmp_path / "missing.json")


def test_tokenizer_roundtrip_and_save(tmp_path):
    tok = tg.CharTokenizer.from_texts(["简约牛仔", "复古"])
    assert len(tok) == 5 + 6
    ids = tok.encode("简约X")
    assert ids[-1] == tok.unk_id
    assert tok.decode(tok.encode("牛仔复古") + [tok.eos_id] + tok.encode("简")) == "牛仔复古"
    tok.save(tmp_path / "tok.json")
    again = tg.CharTokenizer.load(tmp_path / "tok.json")
    assert again.itos == tok.itos


def test_prompt_interests_and_bad_input():
    req, tags = tg.split_interests(parse_attributes("类型#上衣*风格#简约*材质#棉"))
    assert req == (("类型", "上衣"), ("材质", "棉")) and tags == ("简约",)
    assert tg.build_prompt(req, tags) == "类型#上衣*材质#棉|兴趣#简约|"
    assert tg.build_prompt(req, ()) == "类型#上衣*材质#棉|兴趣#无|"
    with pytest.raises(ValueError, match="empty ad requirement"):
        tg.build_prompt((), ("简约",))
    with pytest.raises(ValueError, match="max_prompt_chars"):
        tg.build_prompt([("类型", "上衣" * 100)], ())
    users = tg.interest_profiles(["简约", "复古", "性感"], n_users=4, seed=0)
    assert set(users) == {"u0", "u1", "u2", "u3"} and all(1 <= len(t) <= 2 for t in users.values())
    assert users == tg.interest_profiles(["简约", "复古", "性感"], n_users=4, seed=0)
    with pytest.raises(KeyError, match="unknown user"):
        tg.user_interests(users, "nobody")


def test_lm_batches_mask_prompt():
    rows = _rows()
    tok = tg.CharTokenizer.from_texts([r.content + r.summary for r in rows])
    ex = tg.encode_examples(rows, tok)
    x, m, y = next(tg.lm_batches(ex, batch_size=3)(0, np.random.default_rng(0)))
    for row in range(3):
        n = int(m[row].sum())
        ids, n_prompt = next(e for e in ex if len(e[0]) == n and (x[row, :n] == e[0]).all())
        assert (y[row, :n_prompt] == -100).all() and (y[row, n_prompt:n] == ids[n_prompt:]).all()
        assert (y[row, n:] == -100).all() and ids[-1] == tok.eos_id


def test_train_tiny_gpt2_memorises_and_generates():
    rows = _rows()
    tok = tg.CharTokenizer.from_texts([r.content + r.summary + "兴趣无|" for r in rows])
    ex = tg.encode_examples(rows, tok)
    model, _ = tg.build_model(tok, n_layer=1, n_embd=32, n_head=2, n_positions=64, dropout=0.0)
    before = tg.lm_eval_loss(model, ex)
    hist = fit(model, tg.lm_loss, tg.lm_batches(ex, 3), epochs=150, lr=1e-2, progress=False)
    after = tg.lm_eval_loss(model, ex)
    assert before > np.log(len(tok)) - 1 and after < 0.1, (before, after)
    assert hist.rows[-1]["train_loss"] < hist.rows[0]["train_loss"]
    prompts = [tg.build_prompt(*tg.split_interests(r.attributes)) for r in rows]
    greedy = tg.generate(model, tok, prompts, max_new_tokens=20, batch_size=2)
    assert greedy == [r.summary for r in rows]  # memorised; left padding in a batch of 2 is handled
    assert tg.generate(model, tok, prompts, max_new_tokens=20, use_cache=False) == greedy
    beam = tg.generate(model, tok, prompts, max_new_tokens=20, decoding="beam")
    assert beam == greedy
    sampled = tg.generate(model, tok, prompts, max_new_tokens=20, decoding="top_p", temperature=5.0, seed=1)
    assert sampled == tg.generate(model, tok, prompts, max_new_tokens=20, decoding="top_p", temperature=5.0, seed=1)
    short = tg.generate(model, tok, prompts[:1], max_new_tokens=3)
    assert len(short[0]) <= 3
    with pytest.raises(ValueError):
        tg.decoding_kwargs("nucleus")
    with pytest.raises(ValueError):
        tg.decoding_kwargs("top_p", temperature=0.0)


def test_build_model_needs_local_path():
    with pytest.raises(FileNotFoundError, match="offline"):
        tg.build_model(model_name_or_path="/no/such/checkpoint")


def test_pretrained_local_checkpoint_roundtrip(tmp_path):
    from transformers import GPT2LMHeadModel

    tok = tg.CharTokenizer.from_texts(["简约牛仔"])
    model, _ = tg.build_model(tok, n_layer=1, n_embd=16, n_head=2, n_positions=32)
    model.save_pretrained(tmp_path, safe_serialization=True)
    loaded = GPT2LMHeadModel.from_pretrained(tmp_path, local_files_only=True, use_safetensors=True)
    x = torch.tensor([[1, 5, 6]])
    model.eval(), loaded.eval()
    assert torch.allclose(model(x).logits, loaded(x).logits)


def test_check_ad():
    assert tg.check_ad("这是一款简约百搭的牛仔外套")[0]
    assert tg.check_ad("太短")[1].startswith("too short")
    assert tg.check_ad("好" * 300)[1].startswith("too long")
    ok, why = tg.check_ad("全网最好的牛仔外套，质量第一")
    assert not ok and "最好" in why and "第一" in why


def test_personalization():
    copies = ["简约外套", "复古裙子", "休闲裤"]
    control = ["复古外套", "复古裙子", "简约裤"]
    tags = [("简约",), ("复古",), ("休闲", "运动")]
    p = tg.personalization(copies, tags, control)
    assert p == {"own": 1.0, "shuffled": pytest.approx(1 / 3), "lift": pytest.approx(2 / 3)}


def test_rouge_l_by_hand():
    # ref ABCDE, hyp ACEX: LCS = ACE (3); P = 3/4, R = 3/5, F1 = 2PR/(P+R) = 0.9/1.35 = 2/3
    assert metrics.lcs_length("ABCDE", "ACEX") == 3
    assert metrics.rouge_l("ABCDE", "ACEX") == pytest.approx(2 / 3)
    assert metrics.rouge_l("简约外套", "简约外套") == 1.0
    assert metrics.rouge_l("abc", "") == 0.0 and metrics.rouge_l("abc", "xyz") == 0.0
    assert metrics.mean_rouge_l(["ABCDE", "ab"], ["ACEX", "ab"]) == pytest.approx((2 / 3 + 1) / 2)


def test_bleu4_chars_by_hand():
    assert metrics.bleu4_chars(["简约的牛仔外套"], ["简约的牛仔外套"]) == pytest.approx(1.0)
    # hyp ABCDEFGH vs ref ABCDEFGX (same length, BP = 1): n-gram precisions 7/8, 6/7, 5/6, 4/5
    expected = (7 / 8 * 6 / 7 * 5 / 6 * 4 / 5) ** 0.25
    assert metrics.bleu4_chars(["ABCDEFGX"], ["ABCDEFGH"]) == pytest.approx(expected)
    # no 4-gram match: method1 replaces the zero count by 0.1
    b = metrics.bleu4_chars(["ABCDE"], ["ABXDE"])
    assert b == pytest.approx((4 / 5 * 2 / 4 * 0.1 / 3 * 0.1 / 2) ** 0.25)  # A,B,D,E of 5; AB, DE of 4
    with pytest.raises(ValueError):
        metrics.bleu4_chars(["a"], [])


def test_distinct_n():
    assert metrics.distinct_n(["aab", "ab"], 1) == pytest.approx(2 / 5)
    assert metrics.distinct_n(["aab", "ab"], 2) == pytest.approx(2 / 3)
    assert metrics.distinct_n([""], 2) == 0.0
